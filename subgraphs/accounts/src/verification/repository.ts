import type { Prisma, PrismaClient } from '@courier/db';
import type { SessionState } from './policy.ts';

/** A stored session: its state plus the columns the service needs but clients never see. */
export interface SessionRecord extends SessionState {
  readonly idHash: Uint8Array;
  readonly codeHash: Uint8Array | null;
}

const SELECT = {
  idHash: true,
  number: true,
  createdAt: true,
  expiresAt: true,
  codeHash: true,
  codeExpiresAt: true,
  lastCodeAt: true,
  codesSent: true,
  failedAttempts: true,
  verifiedAt: true,
  consumedAt: true,
} as const;

type Row = Prisma.VerificationSessionGetPayload<{ select: typeof SELECT }>;

const ms = (date: Date | null): number | null => (date === null ? null : date.getTime());

function toRecord(row: Row): SessionRecord {
  return {
    idHash: row.idHash,
    number: row.number,
    createdAt: row.createdAt.getTime(),
    expiresAt: row.expiresAt.getTime(),
    hasCode: row.codeHash !== null,
    codeHash: row.codeHash,
    codeExpiresAt: ms(row.codeExpiresAt),
    lastCodeAt: ms(row.lastCodeAt),
    codesSent: row.codesSent,
    failedAttempts: row.failedAttempts,
    verifiedAt: ms(row.verifiedAt),
    consumedAt: ms(row.consumedAt),
  };
}

function bytes(value: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(value);
}

/**
 * The only code that reads and writes `accounts.verification_sessions`. Every state change is a
 * conditional update (compare-and-set on the columns the decision was based on), so concurrent
 * requests on one session cannot both win.
 */
export class VerificationSessionRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /** Creates a session. */
  async create(session: {
    idHash: Uint8Array;
    number: string;
    createdAt: number;
    expiresAt: number;
  }): Promise<SessionRecord> {
    const row = await this.#prisma.verificationSession.create({
      data: {
        idHash: bytes(session.idHash),
        number: session.number,
        createdAt: new Date(session.createdAt),
        expiresAt: new Date(session.expiresAt),
      },
      select: SELECT,
    });
    return toRecord(row);
  }

  /** The session with this id hash, expired or not. */
  async find(idHash: Uint8Array): Promise<SessionRecord | null> {
    const row = await this.#prisma.verificationSession.findUnique({
      where: { idHash: bytes(idHash) },
      select: SELECT,
    });
    return row ? toRecord(row) : null;
  }

  /**
   * Stores a newly sent code if the session is still as it was read (`codesSent` unchanged,
   * unverified, unlocked); null when another request changed it first.
   */
  async storeCode(
    idHash: Uint8Array,
    expected: { codesSent: number; maxFailedAttempts: number },
    code: { codeHash: Uint8Array; codeExpiresAt: number; sentAt: number; expiresAt: number },
  ): Promise<SessionRecord | null> {
    const rows = await this.#prisma.verificationSession.updateManyAndReturn({
      where: {
        idHash: bytes(idHash),
        codesSent: expected.codesSent,
        verifiedAt: null,
        consumedAt: null,
        failedAttempts: { lt: expected.maxFailedAttempts },
      },
      data: {
        codeHash: bytes(code.codeHash),
        codeExpiresAt: new Date(code.codeExpiresAt),
        lastCodeAt: new Date(code.sentAt),
        expiresAt: new Date(code.expiresAt),
        codesSent: { increment: 1 },
      },
      select: SELECT,
    });
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Marks the session verified if its code is still `codeHash` and it is neither verified nor
   * locked; clears the code (single use). Null when the condition no longer holds.
   */
  async markVerified(
    idHash: Uint8Array,
    expected: { codeHash: Uint8Array; maxFailedAttempts: number },
    update: { verifiedAt: number; expiresAt: number },
  ): Promise<SessionRecord | null> {
    const rows = await this.#prisma.verificationSession.updateManyAndReturn({
      where: {
        idHash: bytes(idHash),
        codeHash: bytes(expected.codeHash),
        verifiedAt: null,
        consumedAt: null,
        failedAttempts: { lt: expected.maxFailedAttempts },
      },
      data: {
        verifiedAt: new Date(update.verifiedAt),
        expiresAt: new Date(update.expiresAt),
        codeHash: null,
        codeExpiresAt: null,
      },
      select: SELECT,
    });
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Counts one wrong code, atomically, unless the session is verified or already locked; null
   * then.
   */
  async recordFailedAttempt(
    idHash: Uint8Array,
    maxFailedAttempts: number,
  ): Promise<SessionRecord | null> {
    const rows = await this.#prisma.verificationSession.updateManyAndReturn({
      where: {
        idHash: bytes(idHash),
        verifiedAt: null,
        failedAttempts: { lt: maxFailedAttempts },
      },
      data: { failedAttempts: { increment: 1 } },
      select: SELECT,
    });
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Inside the caller's transaction: marks a verified, unexpired, unconsumed session consumed
   * and returns its number; null when no such session matched (then nothing changed).
   */
  async consumeVerified(
    tx: Prisma.TransactionClient,
    idHash: Uint8Array,
    now: number,
  ): Promise<{ number: string } | null> {
    const rows = await tx.verificationSession.updateManyAndReturn({
      where: {
        idHash: bytes(idHash),
        verifiedAt: { not: null },
        consumedAt: null,
        expiresAt: { gt: new Date(now) },
      },
      data: { consumedAt: new Date(now) },
      select: { number: true },
    });
    return rows[0] ?? null;
  }

  /** {@link find} inside a transaction. */
  async findInTransaction(
    tx: Prisma.TransactionClient,
    idHash: Uint8Array,
  ): Promise<SessionRecord | null> {
    const row = await tx.verificationSession.findUnique({
      where: { idHash: bytes(idHash) },
      select: SELECT,
    });
    return row ? toRecord(row) : null;
  }

  /** Deletes sessions that expired before `now`; returns how many. For a periodic job. */
  async deleteExpired(now: number): Promise<number> {
    const { count } = await this.#prisma.verificationSession.deleteMany({
      where: { expiresAt: { lte: new Date(now) } },
    });
    return count;
  }
}
