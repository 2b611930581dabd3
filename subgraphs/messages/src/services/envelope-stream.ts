import type { QueuePosition, StoredEnvelope } from '../repositories/envelope-queue-repository.ts';
import {
  QUEUE_EMPTY,
  REPLACED,
  envelopeModelOf,
  type EnvelopeEventModel,
} from './envelope-model.ts';

/** Online-only envelopes older than this are dropped instead of delivered late, as Signal. */
export const ONLINE_ENVELOPE_MAX_AGE_MS = 10_000;

/** What {@link drainThenLive} reads from. */
export interface EnvelopeStreamSources {
  /** The device's live channel, already subscribed (it buffers what arrives during the drain). */
  readonly live: AsyncIterator<Uint8Array>;
  /** The next page of stored envelopes after `after` (all of them from the start when undefined). */
  readonly fetchPage: (after: QueuePosition | undefined) => Promise<StoredEnvelope[]>;
  /** The page size `fetchPage` uses: a shorter page ends the drain. */
  readonly pageSize: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A device's envelope stream; {@link EnvelopeStream.replace} ends it for a newer connection. */
export interface EnvelopeStream extends AsyncIterableIterator<EnvelopeEventModel> {
  /**
   * Ends the stream because the device connected again: a waiting or later `next()` yields one
   * `Replaced` event, then the stream is done.
   */
  replace(): void;
}

/**
 * A device's envelope stream: the stored envelopes in (serverTimestamp, guid) order, then
 * `QueueEmpty`, then live envelopes. The live channel must be subscribed before the drain
 * starts, so nothing published meanwhile is lost: it waits in the channel's buffer. A live
 * envelope whose guid the drain already yielded is dropped (it was committed before the drain
 * read it and published after the subscription started), so nothing is yielded twice.
 *
 * A plain iterator object, not an async generator: `return()` ends the live channel at once,
 * even while `next()` waits (graphql-ws unsubscribes by calling `return()`).
 */
export function drainThenLive(sources: EnvelopeStreamSources): EnvelopeStream {
  const now = sources.now ?? Date.now;
  const pending: EnvelopeEventModel[] = [];
  const drained = new Set<string>();
  let position: QueuePosition | undefined;
  let draining = true;
  let done = false;
  let replaced = false;
  const finish = async (): Promise<IteratorResult<EnvelopeEventModel>> => {
    done = true;
    pending.length = 0;
    drained.clear();
    await sources.live.return?.();
    return { done: true, value: undefined };
  };
  return {
    async next(): Promise<IteratorResult<EnvelopeEventModel>> {
      for (;;) {
        if (replaced && !done) {
          await finish();
          return { done: false, value: REPLACED };
        }
        if (done) return { done: true, value: undefined };
        const queued = pending.shift();
        if (queued !== undefined) return { done: false, value: queued };
        if (draining) {
          const page = await sources.fetchPage(position);
          if (done) return { done: true, value: undefined };
          for (const stored of page) {
            drained.add(stored.guid);
            pending.push(envelopeModelOf(stored.envelope));
          }
          const last = page.at(-1);
          if (last) position = { serverTimestamp: last.serverTimestamp, guid: last.guid };
          if (page.length < sources.pageSize) {
            draining = false;
            pending.push(QUEUE_EMPTY);
          }
          continue;
        }
        const result = await sources.live.next();
        if (replaced) continue;
        if (done) return { done: true, value: undefined };
        if (result.done) {
          done = true;
          return { done: true, value: undefined };
        }
        const envelope = envelopeModelOf(result.value);
        if (drained.delete(envelope.guid)) continue;
        if (envelope.ephemeral && now() - envelope.serverTimestamp > ONLINE_ENVELOPE_MAX_AGE_MS) {
          continue;
        }
        return { done: false, value: envelope };
      }
    },
    return: finish,
    replace() {
      if (done || replaced) return;
      replaced = true;
      void sources.live.return?.();
    },
    async throw(error?: unknown): Promise<IteratorResult<EnvelopeEventModel>> {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
