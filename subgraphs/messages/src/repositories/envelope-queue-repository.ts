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
  /**
   * Whether acknowledging it sends its sender a server delivery receipt (`wantsDeliveryReceipt`),
   * decided when it is stored so that acknowledgements need not read, let alone decode, the others.
   */
  readonly wantsReceipt: boolean;
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

/** What {@link EnvelopeQueueRepository.deleteForDevices} answers one request. */
export interface AcknowledgedEnvelopes {
  /** How many of the request's envelopes were deleted. */
  readonly deleted: number;
  /** The encoded envelopes among them that want a server delivery receipt. */
  readonly forReceipts: Uint8Array[];
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
   * insert with nine parameters. The envelopes travel as one `bytea` (all of them end to end, cut
   * apart by `substring` with their offsets and lengths) rather than a `bytea[]`: a single `Buffer`
   * goes to PostgreSQL as one binary parameter (Prisma base64-encodes it once on the way), where
   * an array is base64-encoded, decoded and hex-encoded into a text literal element by element.
   */
  async insertMany(rows: readonly QueuedEnvelopeRow[]): Promise<void> {
    if (rows.length === 0) return;
    const guids: string[] = [];
    const acis: string[] = [];
    const deviceIds: number[] = [];
    const timestamps: string[] = [];
    const offsets: number[] = [];
    const lengths: number[] = [];
    const expiries: string[] = [];
    const wantsReceipts: boolean[] = [];
    /** 1-based, as `substring` counts. */
    let offset = 1;
    for (const row of rows) {
      guids.push(row.guid);
      acis.push(row.destinationAci);
      deviceIds.push(row.destinationDeviceId);
      timestamps.push(String(row.serverTimestamp));
      offsets.push(offset);
      lengths.push(row.envelope.byteLength);
      offset += row.envelope.byteLength;
      expiries.push(String(row.expiresAt.getTime()));
      wantsReceipts.push(row.wantsReceipt);
    }
    const envelopes = Buffer.concat(
      rows.map((row) => row.envelope),
      offset - 1,
    );
    await this.#prisma.$executeRaw`
      INSERT INTO messages.queued_envelopes
        (guid, destination_aci, destination_device_id, server_timestamp, envelope, expires_at,
         wants_receipt)
      SELECT g, a, d, t, substring(${envelopes}::bytea FROM o FOR l),
             to_timestamp(x / 1000.0) AT TIME ZONE 'UTC', w
      FROM unnest(${guids}::uuid[], ${acis}::uuid[], ${deviceIds}::int[], ${timestamps}::bigint[],
                  ${offsets}::int[], ${lengths}::int[], ${expiries}::bigint[],
                  ${wantsReceipts}::boolean[]) AS v(g, a, d, t, o, l, x, w)`;
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
   * resolves with one answer per request (in order): how many of its envelopes went, and the
   * encoded ones among them that want a server delivery receipt. Only those are returned (the
   * others' bytes never leave the database), since most acknowledged envelopes (sealed sender,
   * receipts, sync copies) need none. Several devices' acknowledgements share the statement.
   */
  async deleteForDevices(requests: readonly DeviceEnvelopes[]): Promise<AcknowledgedEnvelopes[]> {
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
    const answers = requests.map(() => ({ deleted: 0, forReceipts: [] as Uint8Array[] }));
    if (guids.length === 0) return answers;
    const rows = await this.#prisma.$queryRaw<{ position: bigint; envelope: Uint8Array | null }[]>`
      DELETE FROM messages.queued_envelopes q
      USING unnest(${guids}::uuid[], ${acis}::uuid[], ${deviceIds}::int[])
        WITH ORDINALITY AS a(g, a, d, position)
      WHERE q.guid = a.g AND q.destination_aci = a.a AND q.destination_device_id = a.d
      RETURNING a.position, CASE WHEN q.wants_receipt THEN q.envelope END AS envelope`;
    for (const row of rows) {
      const answer = answers[requestOf[Number(row.position) - 1]!]!;
      answer.deleted += 1;
      if (row.envelope) answer.forReceipts.push(row.envelope);
    }
    return answers;
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
