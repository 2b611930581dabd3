import type { AuthenticatedDevice } from '@courier/auth';
import { BadUserInputError } from '@courier/errors';
import type { EnvelopeChannelRepository } from '../repositories/envelope-channel-repository.ts';
import type { EnvelopeQueueRepository } from '../repositories/envelope-queue-repository.ts';
import type { EnvelopeEventModel } from './envelope-model.ts';
import { drainThenLive } from './envelope-stream.ts';
import type { ReceiptService } from './receipt-service.ts';
import { isUuid } from '@courier/server';

/** Expired envelopes deleted per statement by {@link DeliveryService.purgeExpired}. */
const PURGE_BATCH = 1000;

/** Most guids one `acknowledgeEnvelopes` call may name. */
export const MAX_ACKNOWLEDGED_GUIDS = 100;
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
  readonly #now: () => number;

  readonly #receipts: Pick<ReceiptService, 'acknowledged'> | undefined;

  constructor(
    channels: EnvelopeChannelRepository,
    queue: EnvelopeQueueRepository,
    now: () => number = Date.now,
    receipts?: Pick<ReceiptService, 'acknowledged'>,
  ) {
    this.#channels = channels;
    this.#queue = queue;
    this.#now = now;
    this.#receipts = receipts;
  }

  /**
   * The device's envelope stream: first the live channel is subscribed, then the stored
   * envelopes are drained in server-timestamp order, then `QueueEmpty`, then live envelopes
   * (without gaps or duplicates across the boundary: see {@link drainThenLive}).
   */
  async stream(device: AuthenticatedDevice): Promise<AsyncIterableIterator<EnvelopeEventModel>> {
    const live = await this.#channels.listen(device.aci, device.deviceId);
    return drainThenLive({
      live,
      pageSize: DRAIN_PAGE_SIZE,
      fetchPage: (after) =>
        this.#queue.page(
          device.aci,
          device.deviceId,
          after,
          DRAIN_PAGE_SIZE,
          new Date(this.#now()),
        ),
    });
  }

  /**
   * Deletes the named envelopes that are the device's own (others' guids and unknown guids are
   * ignored) and answers how many were deleted. Then the senders of the identified ones get
   * server delivery receipts (see `ReceiptService`); a failure there does not undo the ack.
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
    const deleted = await this.#queue.deleteForDevice(device.aci, device.deviceId, normalised);
    if (deleted.length > 0) await this.#receipts?.acknowledged(device, deleted);
    return deleted.length;
  }

  /** Hands an encoded `Envelope` to whichever instance holds the device's subscription. */
  deliver(aci: string, deviceId: number, envelope: Uint8Array): Promise<void> {
    return this.#channels.publish(aci, deviceId, envelope);
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
      if (deleted < PURGE_BATCH) return total;
    }
  }
}
