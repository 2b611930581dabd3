import type { Bus } from '@courier/bus';
import type { PrismaClient } from '@courier/db';

/** Bus channel where block changes are announced: `<blocker>:<blocked>:<1|0>`. */
export const BLOCKS_CHANGED_CHANNEL = 'accounts:blocks-changed';

/** The only code that reads and writes `accounts.blocks`, and announces its changes. */
export class BlockRepository {
  readonly #prisma: PrismaClient;
  readonly #bus: Bus;

  constructor(prisma: PrismaClient, bus: Bus) {
    this.#prisma = prisma;
    this.#bus = bus;
  }

  async add(blockerAci: string, blockedAci: string): Promise<void> {
    await this.#prisma.block.createMany({
      data: [{ blockerAci, blockedAci }],
      skipDuplicates: true,
    });
    await this.#announce(blockerAci, blockedAci, true);
  }

  async remove(blockerAci: string, blockedAci: string): Promise<void> {
    await this.#prisma.block.deleteMany({ where: { blockerAci, blockedAci } });
    await this.#announce(blockerAci, blockedAci, false);
  }

  /** The blocker's blocked ACIs, oldest block first; at most `limit` when given. */
  async list(blockerAci: string, limit?: number): Promise<string[]> {
    const rows = await this.#prisma.block.findMany({
      where: { blockerAci },
      select: { blockedAci: true },
      orderBy: { createdAt: 'asc' },
      ...(limit === undefined ? {} : { take: limit }),
    });
    return rows.map((row) => row.blockedAci);
  }

  count(blockerAci: string): Promise<number> {
    return this.#prisma.block.count({ where: { blockerAci } });
  }

  async exists(blockerAci: string, blockedAci: string): Promise<boolean> {
    return (await this.#prisma.block.count({ where: { blockerAci, blockedAci } })) > 0;
  }

  async #announce(blockerAci: string, blockedAci: string, blocked: boolean): Promise<void> {
    await this.#bus.publish(
      BLOCKS_CHANGED_CHANNEL,
      new TextEncoder().encode(`${blockerAci}:${blockedAci}:${blocked ? 1 : 0}`),
    );
  }
}
