import { isUniqueViolation, type PrismaClient } from '@courier/db';

/** A stored group: its version and encoded `signal.Group`. */
export interface StoredGroup {
  readonly version: number;
  readonly state: Uint8Array;
}

/** One stored change: the encoded, signed `signal.GroupChange` that produced `version`. */
export interface StoredChange {
  readonly version: number;
  readonly change: Uint8Array;
}

const copy = (bytes: Uint8Array) => new Uint8Array(bytes);

/**
 * The groups subgraph's tables: one row per group (its current state) and its change log. A
 * change and the state it produces are written in one transaction, guarded by the version the
 * change was made against, so concurrent changes at one version cannot both land.
 */
export class GroupRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /** The group with this identifier, or null. */
  async find(groupId: Uint8Array): Promise<StoredGroup | null> {
    return this.#prisma.group.findUnique({
      where: { id: copy(groupId) },
      select: { version: true, state: true },
    });
  }

  /** Stores a new group at version 0 with its creation change; false when the id is taken. */
  async create(groupId: Uint8Array, state: Uint8Array, change: Uint8Array): Promise<boolean> {
    try {
      await this.#prisma.group.create({
        data: {
          id: copy(groupId),
          version: 0,
          state: copy(state),
          changes: { create: { version: 0, change: copy(change) } },
        },
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /**
   * Replaces the state at `fromVersion` with `state` at `fromVersion + 1` and logs `change`,
   * atomically. False (and nothing written) when the group is no longer at `fromVersion`.
   */
  async update(
    groupId: Uint8Array,
    fromVersion: number,
    state: Uint8Array,
    change: Uint8Array,
  ): Promise<boolean> {
    const id = copy(groupId);
    try {
      return await this.#prisma.$transaction(async (tx) => {
        const updated = await tx.group.updateMany({
          where: { id, version: fromVersion },
          data: { version: fromVersion + 1, state: copy(state) },
        });
        if (updated.count !== 1) return false;
        await tx.groupChangeRecord.create({
          data: { groupId: id, version: fromVersion + 1, change: copy(change) },
        });
        return true;
      });
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Up to `limit` changes from `fromVersion` on, in version order. */
  async changes(groupId: Uint8Array, fromVersion: number, limit: number): Promise<StoredChange[]> {
    return this.#prisma.groupChangeRecord.findMany({
      where: { groupId: copy(groupId), version: { gte: fromVersion } },
      orderBy: { version: 'asc' },
      take: limit,
      select: { version: true, change: true },
    });
  }
}
