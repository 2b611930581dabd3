import type { Bus, BusErrorHandler } from './bus.ts';
import { InProcessBus } from './in-process-bus.ts';
import { RedisBus } from './redis-bus.ts';

/** Options of {@link createBus}. */
export interface CreateBusOptions {
  /** Redis URL; when absent (or empty) the bus is in-process (single-node embedded mode). */
  readonly redisUrl?: string | undefined;
  /** Channel prefix on Redis; required (and checked) in both modes so configs stay portable. */
  readonly channelPrefix: string;
  /**
   * Receives errors outside any caller's promise.
   * @default warnOnBusError (a process warning)
   */
  readonly onError?: BusErrorHandler;
}

/** A {@link RedisBus} when `redisUrl` is set, an {@link InProcessBus} otherwise. */
export function createBus(options: CreateBusOptions): Bus {
  if (typeof options.channelPrefix !== 'string' || options.channelPrefix.length === 0) {
    throw new TypeError('createBus needs a non-empty channelPrefix');
  }
  const { redisUrl, channelPrefix, onError } = options;
  if (redisUrl) return new RedisBus({ url: redisUrl, channelPrefix, onError });
  return new InProcessBus({ onError });
}
