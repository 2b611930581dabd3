import { randomUUID } from 'node:crypto';
import type { Logger } from '@courier/logging';
import { envelopeMetrics } from '@courier/server';
import { signal } from '@courier/proto';
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

/** Rows of several sends stored in one insert, and the callers waiting for it. */
interface Batch {
  readonly rows: QueuedEnvelopeRow[];
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const committed = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  // A batch may fail with no caller awaiting yet; each caller awaits `committed` itself.
  committed.catch(() => undefined);
  return { rows: [], committed, resolve, reject };
}

/**
 * The one way envelopes leave a send: each gets a guid and the server timestamp, is encoded as
 * `signal.Envelope`, stored in one statement with the rest of its send (unless online-only), and
 * then published on its device's channel for whichever instance holds the device's subscription.
 *
 * Group commit (decision): one insert per send caps a node at the database's commit rate, so
 * sends share inserts. At most `maxConcurrentInserts` inserts run at once; the rows of sends that
 * arrive meanwhile (or in the same turn of the event loop) wait in one batch, stored by the next
 * insert as soon as one finishes. An idle outbox thus stores a send at once, and a busy one
 * stores many sends per commit. Every caller still resolves only once its own rows are
 * committed, and a failed insert rejects every send of its batch (nothing of theirs was stored
 * or published). A send's rows always travel in one statement, so a send is stored whole or not
 * at all.
 *
 * Stored envelopes are safe once committed, so a failed publish is only logged: the device's
 * next drain catches up. Online-only envelopes are never stored, so a lost publish loses them,
 * as Signal's online-only messages.
 */
export class EnvelopeOutbox {
  readonly #options: EnvelopeOutboxOptions;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #maxInserts: number;
  readonly #maxBatchRows: number;
  readonly #waiting: Batch[] = [];
  #inserting = 0;
  #pumpScheduled = false;

  constructor(options: EnvelopeOutboxOptions) {
    this.#options = options;
    this.#ttlMs = options.envelopeTtlMs ?? DEFAULT_ENVELOPE_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#maxInserts = Math.max(1, options.maxConcurrentInserts ?? 2);
    this.#maxBatchRows = Math.max(1, options.maxBatchRows ?? 2000);
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
      };
    });
    if (!online) await this.#store(rows);
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

  /** Resolves once `rows` are committed, in one insert with whatever other sends wait. */
  #store(rows: QueuedEnvelopeRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    let batch = this.#waiting.at(-1);
    if (!batch || (batch.rows.length > 0 && batch.rows.length + rows.length > this.#maxBatchRows)) {
      batch = newBatch();
      this.#waiting.push(batch);
    }
    for (const row of rows) batch.rows.push(row);
    if (this.#inserting < this.#maxInserts && !this.#pumpScheduled) {
      this.#pumpScheduled = true;
      setImmediate(() => {
        this.#pumpScheduled = false;
        this.#pump();
      });
    }
    return batch.committed;
  }

  #pump(): void {
    while (this.#inserting < this.#maxInserts && this.#waiting.length > 0) {
      const batch = this.#waiting.shift()!;
      this.#inserting++;
      this.#options.queue
        .insertMany(batch.rows)
        .then(batch.resolve, batch.reject)
        .finally(() => {
          this.#inserting--;
          this.#pump();
        });
    }
  }
}
