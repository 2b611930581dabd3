import { isUniqueViolation, type PrismaClient } from '@courier/db';

/** An attachment's metadata row. */
export interface AttachmentRecord {
  readonly key: string;
  readonly uploadLength: number;
  readonly createdAt: Date;
  readonly uploadExpiresAt: Date;
  readonly completedAt: Date | null;
  readonly expiresAt: Date;
}

/** A new upload's row. */
export interface NewAttachment {
  readonly key: string;
  readonly uploadLength: number;
  readonly createdAt: Date;
  readonly uploadExpiresAt: Date;
  readonly expiresAt: Date;
}

/** The attachments' metadata in PostgreSQL (`attachments.attachments`); never the bytes. */
export class AttachmentRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /** Inserts the row of a starting upload; false when the key already has one. */
  async create(attachment: NewAttachment): Promise<boolean> {
    try {
      await this.#prisma.attachment.create({
        data: { ...attachment, uploadLength: BigInt(attachment.uploadLength) },
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) {
        return false;
      }
      throw error;
    }
  }

  async find(key: string): Promise<AttachmentRecord | null> {
    const row = await this.#prisma.attachment.findUnique({ where: { key } });
    return row ? { ...row, uploadLength: Number(row.uploadLength) } : null;
  }

  /** Marks an upload complete (idempotent). */
  async markCompleted(key: string, at: Date): Promise<void> {
    await this.#prisma.attachment.updateMany({
      where: { key, completedAt: null },
      data: { completedAt: at },
    });
  }

  /**
   * Keys due for deletion at `now`, oldest first: attachments past retention and partial
   * uploads whose credential expired (they can never finish).
   */
  async findExpired(now: Date, limit: number): Promise<string[]> {
    const rows = await this.#prisma.attachment.findMany({
      where: {
        OR: [{ expiresAt: { lte: now } }, { completedAt: null, uploadExpiresAt: { lte: now } }],
      },
      select: { key: true },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
    return rows.map((row) => row.key);
  }

  async delete(keys: readonly string[]): Promise<number> {
    const { count } = await this.#prisma.attachment.deleteMany({
      where: { key: { in: [...keys] } },
    });
    return count;
  }
}
