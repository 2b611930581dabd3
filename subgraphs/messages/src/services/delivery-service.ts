import { randomUUID } from 'node:crypto';
import type { AuthenticatedDevice } from '@courier/auth';
import { BadUserInputError } from '@courier/errors';
import { envelopeMetrics, isUuid } from '@courier/server';
import type { EnvelopeChannelRepository } from '../repositories/envelope-channel-repository.ts';
import type {
  AcknowledgedEnvelopes,
  DeviceEnvelopes,
  EnvelopeQueueRepository,
} from '../repositories/envelope-queue-repository.ts';
import { GroupCommit } from './group-commit.ts';
import { envelopeModelOf, type EnvelopeEventModel, type EnvelopeModel } from './envelope-model.ts';
import { drainThenLive } from './envelope-stream.ts';
import type { ReceiptService } from './receipt-service.ts';

interface StreamIdentity {
  readonly startedAt: number;
  readonly id: string;
}

function parseAnnouncement(bytes: Uint8Array): StreamIdentity | undefined {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<StreamIdentity>;
    if (typeof value.startedAt === 'number' && typeof value.id === 'string') {
      return { startedAt: value.startedAt, id: value.id };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function isNewer(a: StreamIdentity, b: StreamIdentity): boolean {
  return a.startedAt > b.startedAt || (a.startedAt === b.startedAt && a.id > b.id);
}

/** Expired envelopes deleted per statement by {@link DeliveryService.purgeExpired}. */
const PURGE_BATCH = 1000;

/** Most guids one `acknowledgeEnvelopes` call may name. */
export const MAX_ACKNOWLEDGED_GUIDS = 100;
/** Most envelopes one long poll returns. */
export const MAX_POLL_LIMIT = 100;
/** Longest a long poll waits, in seconds (below common proxy and gateway timeouts). */
export const MAX_POLL_WAIT_SECONDS = 25;
/** Stored envelopes read per drain query. */
const DRAIN_PAGE_SIZE = 200;

/**
 * Delivery: a device's subscription listens on its channel on the bus (so an envelope published
 * by any messages instance reaches the instance that holds the socket), drains what is stored
 * for it, and acknowledgements delete stored envelopes.
 */
export class DeliveryService {
  readonly #channels: EnvelopeChannelRepository;
  readonly #queue: EnvelopeQueueRepository;
  readonly #receipts: Pick<ReceiptService, 'acknowledged'>;
  readonly #now: () => number;
  readonly #deletes: GroupCommit<DeviceEnvelopes, AcknowledgedEnvelopes>;

  constructor(
    channels: EnvelopeChannelRepository,
    queue: EnvelopeQueueRepository,
    receipts: Pick<ReceiptService, 'acknowledged'>,
    now: () => number = Date.now,
  ) {
    this.#channels = channels;
    this.#queue = queue;
    this.#receipts = receipts;
    this.#now = now;
    this.#deletes = new GroupCommit({
      run: (requests) => queue.deleteForDevices(requests),
      weightOf: (request) => request.guids.length,
    });
  }

  /**
   * The device's envelope stream: first the live channel is subscribed, then the stored
   * envelopes are drained in server-timestamp order, then `QueueEmpty`, then live envelopes
   * (without gaps or duplicates across the boundary: see {@link drainThenLive}).
   *
   * One stream per device, as Signal allows one connection per device: a new stream announces
   * itself on the device's connections channel, and every older stream of the device, on any
   * instance, ends with a `Replaced` event (a `CONFLICT` error for its client). Streams are
   * ordered by (start time, random id), so two that start at once settle on the same survivor.
   */
  async stream(device: AuthenticatedDevice): Promise<AsyncIterableIterator<EnvelopeEventModel>> {
    const self = { startedAt: performance.timeOrigin + performance.now(), id: randomUUID() };
    const live = await this.#channels.listen(device.aci, device.deviceId);
    let stopListening: (() => Promise<void>) | undefined;
    const stream = drainThenLive({
      live,
      pageSize: DRAIN_PAGE_SIZE,
      now: this.#now,
      fetchPage: (after) =>
        this.#queue.page(
          device.aci,
          device.deviceId,
          after,
          DRAIN_PAGE_SIZE,
          new Date(this.#now()),
        ),
    });
    try {
      stopListening = await this.#channels.onConnection(device.aci, device.deviceId, (bytes) => {
        const other = parseAnnouncement(bytes);
        if (other && isNewer(other, self)) {
          stream.replace();
          void stopListening?.();
        }
      });
      await this.#channels.announceConnection(
        device.aci,
        device.deviceId,
        Buffer.from(JSON.stringify(self)),
      );
    } catch (error) {
      await stream.return?.();
      await stopListening?.();
      throw error;
    }
    const end = stream.return!.bind(stream);
    stream.return = async () => {
      await stopListening?.();
      return end();
    };
    return stream;
  }

  /**
   * Deletes the named envelopes that are the device's own (others' guids and unknown guids are
   * ignored) and answers how many were deleted. Concurrent acknowledgements (of any devices)
   * share one delete ({@link GroupCommit}), since clients acknowledge envelope by envelope. Then the senders of the identified ones get
   * server delivery receipts (see `ReceiptService`; the delete returns only the envelopes marked
   * as wanting one); a failure there does not undo the ack.
   *
   * @throws BadUserInputError beyond {@link MAX_ACKNOWLEDGED_GUIDS} guids or for a malformed guid.
   */
  async acknowledge(device: AuthenticatedDevice, guids: readonly string[]): Promise<number> {
    if (guids.length > MAX_ACKNOWLEDGED_GUIDS) {
      throw new BadUserInputError(`At most ${MAX_ACKNOWLEDGED_GUIDS} guids per call`, 'guids');
    }
    const normalised = [...new Set(guids.map((guid) => guid.toLowerCase()))];
    if (!normalised.every((guid) => isUuid(guid))) {
      throw new BadUserInputError('guids must be UUIDs', 'guids');
    }
    const { deleted, forReceipts } = await this.#deletes.submit({
      aci: device.aci,
      deviceId: device.deviceId,
      guids: normalised,
    });
    envelopeMetrics.acked.inc(deleted);
    if (forReceipts.length > 0) await this.#receipts.acknowledged(device, forReceipts);
    return deleted;
  }

  /**
   * The long-poll fallback: up to `limit` stored envelopes of the device in server-timestamp
   * order, and whether more are stored. When none is stored, waits up to `waitSeconds` for one
   * to be published on the device's channel (listening before reading, so nothing published in
   * between is missed), then reads again; an online-only envelope that wakes it is returned as
   * it is, since it was never stored.
   *
   * @throws BadUserInputError for a limit outside 1..100 or a wait outside 0..25 seconds.
   */
  async poll(
    device: AuthenticatedDevice,
    limit: number,
    waitSeconds: number,
  ): Promise<{ envelopes: EnvelopeModel[]; more: boolean }> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_POLL_LIMIT) {
      throw new BadUserInputError(`limit must be from 1 to ${MAX_POLL_LIMIT}`, 'limit');
    }
    if (!Number.isInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > MAX_POLL_WAIT_SECONDS) {
      throw new BadUserInputError(
        `waitSeconds must be from 0 to ${MAX_POLL_WAIT_SECONDS}`,
        'waitSeconds',
      );
    }
    const read = async () => {
      const page = await this.#queue.page(
        device.aci,
        device.deviceId,
        undefined,
        limit + 1,
        new Date(this.#now()),
      );
      envelopeMetrics.delivered.inc(Math.min(page.length, limit));
      return {
        envelopes: page.slice(0, limit).map((stored) => envelopeModelOf(stored.envelope)),
        more: page.length > limit,
      };
    };
    if (waitSeconds === 0) return read();
    const live = await this.#channels.listen(device.aci, device.deviceId);
    try {
      const first = await read();
      if (first.envelopes.length > 0) return first;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), waitSeconds * 1000);
      });
      const woken = await Promise.race([live.next(), timeout]).finally(() => clearTimeout(timer));
      if (!woken || woken.done) return first;
      const envelope = envelopeModelOf(woken.value);
      if (envelope.ephemeral) return { envelopes: [envelope], more: false };
      return await read();
    } finally {
      await live.return?.();
    }
  }

  /**
   * Deletes every unacknowledged envelope whose TTL ran out (in batches of 1000, so no statement
   * holds many locks); resolves with how many went. Expired envelopes are already never drained;
   * this reclaims their rows. Idempotent, and safe on every instance at once.
   */
  async purgeExpired(): Promise<number> {
    const now = new Date(this.#now());
    let total = 0;
    for (;;) {
      const deleted = await this.#queue.deleteExpired(now, PURGE_BATCH);
      total += deleted;
      envelopeMetrics.expired.inc(deleted);
      if (deleted < PURGE_BATCH) return total;
    }
  }
}
