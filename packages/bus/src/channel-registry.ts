import type { BusErrorHandler, MessageHandler } from './bus.ts';

/** The transport side of a bus: real (un)subscriptions, one per channel. */
export interface ChannelTransport {
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
}

interface HandlerRecord {
  readonly handler: MessageHandler;
  active: boolean;
}

interface ChannelEntry {
  readonly handlers: Set<HandlerRecord>;
  readonly ready: Promise<void>;
}

/** A set of handlers captured at publish time; see {@link ChannelRegistry.snapshot}. */
export type HandlerSnapshot = readonly HandlerRecord[];

/**
 * Local handlers per channel with reference counting: the transport subscribes when a channel's
 * first handler arrives and unsubscribes when its last one leaves. Calls reach the transport in
 * the order they are made, so an unsubscribe followed by a new subscribe ends subscribed.
 */
export class ChannelRegistry {
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #transport: ChannelTransport;
  readonly #onError: BusErrorHandler;

  constructor(transport: ChannelTransport, onError: BusErrorHandler) {
    this.#transport = transport;
    this.#onError = onError;
  }

  /** Adds a handler; resolves once the channel's transport subscription is active. */
  async add(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    let entry = this.#channels.get(channel);
    if (!entry) {
      entry = { handlers: new Set(), ready: this.#transport.subscribe(channel) };
      this.#channels.set(channel, entry);
    }
    const record: HandlerRecord = { handler, active: true };
    entry.handlers.add(record);
    const subscribed = entry;
    try {
      await subscribed.ready;
    } catch (error) {
      await this.#remove(channel, subscribed, record).catch(() => undefined);
      throw error;
    }
    return () => this.#remove(channel, subscribed, record);
  }

  /** Channels with at least one local handler. */
  channels(): string[] {
    return [...this.#channels.keys()];
  }

  /** Number of local handlers on a channel. */
  handlerCount(channel: string): number {
    return this.#channels.get(channel)?.handlers.size ?? 0;
  }

  /** The handlers that should see a message published now. */
  snapshot(channel: string): HandlerSnapshot {
    const entry = this.#channels.get(channel);
    return entry ? [...entry.handlers] : [];
  }

  /** Calls each still-active handler of a snapshot; a throwing handler does not stop the others. */
  deliver(channel: string, handlers: HandlerSnapshot, message: Uint8Array): void {
    for (const record of handlers) {
      if (!record.active) continue;
      try {
        const result: unknown = record.handler(message);
        if (isPromiseLike(result)) {
          result.then(undefined, (error: unknown) =>
            this.#onError(error, { source: 'handler', channel }),
          );
        }
      } catch (error) {
        this.#onError(error, { source: 'handler', channel });
      }
    }
  }

  /** Delivers to the channel's current handlers. */
  dispatch(channel: string, message: Uint8Array): void {
    const entry = this.#channels.get(channel);
    if (entry) this.deliver(channel, [...entry.handlers], message);
  }

  /** Deactivates every handler without touching the transport (used when the bus closes). */
  clear(): void {
    for (const entry of this.#channels.values()) {
      for (const record of entry.handlers) record.active = false;
    }
    this.#channels.clear();
  }

  async #remove(channel: string, entry: ChannelEntry, record: HandlerRecord): Promise<void> {
    if (!record.active) return;
    record.active = false;
    entry.handlers.delete(record);
    if (entry.handlers.size === 0 && this.#channels.get(channel) === entry) {
      this.#channels.delete(channel);
      await this.#transport.unsubscribe(channel);
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
