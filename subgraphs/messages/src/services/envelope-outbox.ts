import { randomUUID } from 'node:crypto';
import type { Logger } from '@courier/logging';
import { envelopeMetrics } from '@courier/server';
import { signal } from '@courier/proto';
import { GroupCommit } from './group-commit.ts';
import { wantsDeliveryReceipt } from './receipt-service.ts';
import type { EnvelopeChannelRepository } from '../repositories/envelope-channel-repository.ts';
import type {
  EnvelopeQueueRepository,
  QueuedEnvelopeRow,
} from '../repositories/envelope-queue-repository.ts';

/** How long an unacknowledged envelope is kept, by default (30 days). */
export const DEFAULT_ENVELOPE_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** One envelope to hand to one destination device. */
export interface OutgoingEnvelope {
  readonly destinationAci: string;
  readonly destinationDeviceId: number;
  /** The envelope's fields; the outbox adds `serverGuid`, `serverTimestamp` and `ephemeral`. */
  readonly fields: Omit<signal.IEnvelope, 'serverGuid' | 'serverTimestamp' | 'ephemeral'>;
}

/** What {@link EnvelopeOutbox} works with. */
export interface EnvelopeOutboxOptions {
  readonly queue: Pick<EnvelopeQueueRepository, 'insertMany'>;
  readonly channels: Pick<EnvelopeChannelRepository, 'publish'>;
  readonly logger: Logger;
  /** @default {@link DEFAULT_ENVELOPE_TTL_MS} */
  readonly envelopeTtlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Most inserts in flight at once; sends that arrive meanwhile wait and are then stored
   * together in one insert (group commit).
   * @default 2
   */
  readonly maxConcurrentInserts?: number;
  /**
   * Most rows one group-commit insert gathers from waiting sends (a single send larger than
   * this is still one insert of its own: a send is never split).
   * @default 2000
   */
  readonly maxBatchRows?: number;
}

/**
 * The one way envelopes leave a send: each gets a guid and the server timestamp, is encoded as
 * `signal.Envelope`, stored in one statement with the rest of its send (unless online-only, and
 * marked with whether it wants a server delivery receipt when acknowledged), and then published
 * on its device's channel for whichever instance holds the device's subscription.
 *
 * Sends share inserts by {@link GroupCommit}: at most `maxConcurrentInserts` inserts run at
 * once and the sends that arrive meanwhile are stored together by the next one. Every caller
 * still resolves only once its own rows are committed, and a failed insert rejects every send of
 * its batch (nothing of theirs was stored or published). A send's rows always travel in one
 * statement, so a send is stored whole or not at all.
 *
 * Stored envelopes are safe once committed, so a failed publish is only logged: the device's
 * next drain catches up. Online-only envelopes are never stored, so a lost publish loses them,
 * as Signal's online-only messages.
 */
export class EnvelopeOutbox {
  readonly #options: EnvelopeOutboxOptions;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #inserts: GroupCommit<QueuedEnvelopeRow[], void>;

  constructor(options: EnvelopeOutboxOptions) {
    this.#options = options;
    this.#ttlMs = options.envelopeTtlMs ?? DEFAULT_ENVELOPE_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#inserts = new GroupCommit({
      run: async (sends) => {
        await options.queue.insertMany(sends.flat());
        return sends.map(() => undefined);
      },
      weightOf: (rows) => rows.length,
      ...(options.maxConcurrentInserts === undefined
        ? {}
        : { maxConcurrent: options.maxConcurrentInserts }),
      ...(options.maxBatchRows === undefined ? {} : { maxBatchWeight: options.maxBatchRows }),
    });
  }

  /** Stores (unless `online`) and publishes `envelopes`; resolves once they are committed. */
  async enqueue(envelopes: readonly OutgoingEnvelope[], online: boolean): Promise<void> {
    const serverTimestamp = this.#now();
    const expiresAt = new Date(serverTimestamp + this.#ttlMs);
    const rows: QueuedEnvelopeRow[] = envelopes.map((outgoing) => {
      const guid = randomUUID();
      return {
        guid,
        destinationAci: outgoing.destinationAci,
        destinationDeviceId: outgoing.destinationDeviceId,
        serverTimestamp,
        envelope: signal.Envelope.encode({
          ...outgoing.fields,
          serverGuid: guid,
          serverTimestamp,
          ephemeral: online,
        }).finish(),
        expiresAt,
        wantsReceipt: wantsDeliveryReceipt(outgoing.destinationAci, outgoing.fields),
      };
    });
    if (!online && rows.length > 0) await this.#inserts.submit(rows);
    envelopeMetrics.queued.inc(rows.length);
    const published = await Promise.allSettled(
      rows.map((row) =>
        this.#options.channels.publish(row.destinationAci, row.destinationDeviceId, row.envelope),
      ),
    );
    const failures = published.filter((result) => result.status === 'rejected');
    if (failures.length > 0) {
      this.#options.logger.warn(
        { err: failures[0]!.reason, failed: failures.length },
        'envelope publish failed',
      );
    }
  }
}
