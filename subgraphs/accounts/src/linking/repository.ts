import type { PrismaClient } from '@courier/db';
import type { Transaction } from '../repositories/account-repository.ts';

/** A link code being used. */
export interface UsedLinkCode {
  /** SHA-256 of the code. */
  readonly hash: Uint8Array<ArrayBuffer>;
  readonly aci: string;
  readonly deviceId: number;
  /** When the code expires (ms since the epoch). */
  readonly expiresAt: number;
}

/** The only code that reads and writes the `accounts.used_link_codes` table. */
export class UsedLinkCodeRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /**
   * Records a code as used inside the caller's transaction. Returns false, writing nothing,
   * when it was used before (`INSERT … ON CONFLICT DO NOTHING`: a concurrent use of the same
   * code waits for the first transaction and then sees the row).
   */
  async markUsed(tx: Transaction, code: UsedLinkCode): Promise<boolean> {
    const { count } = await tx.usedLinkCode.createMany({
      data: [
        {
          codeHash: new Uint8Array(code.hash),
          aci: code.aci,
          deviceId: code.deviceId,
          expiresAt: new Date(code.expiresAt),
        },
      ],
      skipDuplicates: true,
    });
    return count === 1;
  }

  /** Deletes records of codes that have expired (they could not be replayed anyway). */
  async purgeExpired(now: Date): Promise<number> {
    const { count } = await this.#prisma.usedLinkCode.deleteMany({
      where: { expiresAt: { lt: now } },
    });
    return count;
  }
}
