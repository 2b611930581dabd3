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

/** Guids a device acknowledges, for {@link EnvelopeQueueRepository.deleteForDevices}. */
export interface DeviceEnvelopes {
  readonly aci: string;
  readonly deviceId: number;
  readonly guids: readonly string[];
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

  /**
   * Stores envelopes in one statement (one round trip, one commit) however many there are: the
   * columns travel as arrays and `unnest` turns them into rows, so a 5000-recipient send is one
   * insert with six parameters.
   */
  async insertMany(rows: readonly QueuedEnvelopeRow[]): Promise<void> {
    if (rows.length === 0) return;
    const guids = rows.map((row) => row.guid);
    const acis = rows.map((row) => row.destinationAci);
    const deviceIds = rows.map((row) => row.destinationDeviceId);
    const timestamps = rows.map((row) => String(row.serverTimestamp));
    const envelopes = rows.map((row) =>
      Buffer.from(row.envelope.buffer, row.envelope.byteOffset, row.envelope.byteLength),
    );
    const expiries = rows.map((row) => String(row.expiresAt.getTime()));
    await this.#prisma.$executeRaw`
      INSERT INTO messages.queued_envelopes
        (guid, destination_aci, destination_device_id, server_timestamp, envelope, expires_at)
      SELECT g, a, d, t, e, to_timestamp(x / 1000.0) AT TIME ZONE 'UTC'
      FROM unnest(${guids}::uuid[], ${acis}::uuid[], ${deviceIds}::int[], ${timestamps}::bigint[],
                  ${envelopes}::bytea[], ${expiries}::bigint[]) AS v(g, a, d, t, e, x)`;
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

  /**
   * Deletes, in one statement, those of each request's `guids` that belong to its device;
   * resolves with one list per request (in order) of the encoded envelopes that went (their
   * number is the count of deleted rows). Several devices' acknowledgements share the statement.
   */
  async deleteForDevices(requests: readonly DeviceEnvelopes[]): Promise<Uint8Array[][]> {
    const guids: string[] = [];
    const acis: string[] = [];
    const deviceIds: number[] = [];
    /** The request of each (guid, device) pair sent, by position: the first that named it. */
    const requestOf: number[] = [];
    const named = new Set<string>();
    requests.forEach((request, index) => {
      for (const guid of request.guids) {
        const pair = `${guid} ${request.aci} ${request.deviceId}`;
        if (named.has(pair)) continue;
        named.add(pair);
        guids.push(guid);
        acis.push(request.aci);
        deviceIds.push(request.deviceId);
        requestOf.push(index);
      }
    });
    const deleted = requests.map((): Uint8Array[] => []);
    if (guids.length === 0) return deleted;
    const rows = await this.#prisma.$queryRaw<{ position: bigint; envelope: Uint8Array }[]>`
      DELETE FROM messages.queued_envelopes q
      USING unnest(${guids}::uuid[], ${acis}::uuid[], ${deviceIds}::int[])
        WITH ORDINALITY AS a(g, a, d, position)
      WHERE q.guid = a.g AND q.destination_aci = a.a AND q.destination_device_id = a.d
      RETURNING a.position, q.envelope`;
    for (const row of rows) {
      deleted[requestOf[Number(row.position) - 1]!]!.push(new Uint8Array(row.envelope));
    }
    return deleted;
  }

  /**
   * Deletes up to `limit` envelopes that expired at or before `now` (oldest expiry first, by the
   * `expires_at` index); resolves with how many went.
   */
  deleteExpired(now: Date, limit: number): Promise<number> {
    return this.#prisma.$executeRaw`
      DELETE FROM messages.queued_envelopes WHERE guid IN (
        SELECT guid FROM messages.queued_envelopes WHERE expires_at <= ${now}
        ORDER BY expires_at LIMIT ${limit}
      )`;
  }
}
