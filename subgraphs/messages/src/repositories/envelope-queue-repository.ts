import type { PrismaClient } from '@courier/db';

/** One envelope to store for one destination device. */
export interface QueuedEnvelopeRow {
  readonly guid: string;
  readonly destinationAci: string;
  readonly destinationDeviceId: number;
  readonly serverTimestamp: number;
  /** The encoded `signal.Envelope`. */
  readonly envelope: Uint8Array;
  readonly expiresAt: Date;
}

/** A stored envelope as the drain reads it. */
export interface StoredEnvelope {
  readonly guid: string;
  readonly serverTimestamp: number;
  readonly envelope: Uint8Array;
}

/** Where a drain stopped: the last envelope it read (keyset pagination). */
export interface QueuePosition {
  readonly serverTimestamp: number;
  readonly guid: string;
}

/** The only code that reads and writes the `messages.queued_envelopes` table. */
export class EnvelopeQueueRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /** Stores envelopes in one statement (one round trip, one commit). */
  async insertMany(rows: readonly QueuedEnvelopeRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#prisma.queuedEnvelope.createMany({
      data: rows.map((row) => ({
        guid: row.guid,
        destinationAci: row.destinationAci,
        destinationDeviceId: row.destinationDeviceId,
        serverTimestamp: BigInt(row.serverTimestamp),
        envelope: row.envelope as Uint8Array<ArrayBuffer>,
        expiresAt: row.expiresAt,
      })),
    });
  }

  /**
   * Up to `limit` unexpired envelopes of a device in (serverTimestamp, guid) order, after
   * `after` when given.
   */
  async page(
    aci: string,
    deviceId: number,
    after: QueuePosition | undefined,
    limit: number,
    now: Date,
  ): Promise<StoredEnvelope[]> {
    const rows = await this.#prisma.queuedEnvelope.findMany({
      where: {
        destinationAci: aci,
        destinationDeviceId: deviceId,
        expiresAt: { gt: now },
        ...(after
          ? {
              OR: [
                { serverTimestamp: { gt: BigInt(after.serverTimestamp) } },
                { serverTimestamp: BigInt(after.serverTimestamp), guid: { gt: after.guid } },
              ],
            }
          : {}),
      },
      orderBy: [{ serverTimestamp: 'asc' }, { guid: 'asc' }],
      take: limit,
      select: { guid: true, serverTimestamp: true, envelope: true },
    });
    return rows.map((row) => ({
      guid: row.guid,
      serverTimestamp: Number(row.serverTimestamp),
      envelope: new Uint8Array(row.envelope),
    }));
  }

  /** Deletes those of `guids` that belong to the device; resolves with how many went. */
  async deleteForDevice(aci: string, deviceId: number, guids: readonly string[]): Promise<number> {
    if (guids.length === 0) return 0;
    const { count } = await this.#prisma.queuedEnvelope.deleteMany({
      where: { guid: { in: [...guids] }, destinationAci: aci, destinationDeviceId: deviceId },
    });
    return count;
  }
}
