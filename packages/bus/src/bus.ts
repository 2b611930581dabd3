/**
 * What a bus reports when something fails outside any caller's promise: a handler that threw, a
 * Redis connection error, a failed resubscription.
 */
export type BusErrorHandler = (error: unknown, context: BusErrorContext) => void;

/** Where a reported error happened. */
export interface BusErrorContext {
  /** `handler`: a subscriber's handler threw; `connection`: transport trouble. */
  readonly source: 'handler' | 'connection';
  /** The channel (without the bus's prefix), when the error concerns one. */
  readonly channel?: string;
}

/** A message handler. It must not mutate `message`: all local subscribers share one copy. */
export type MessageHandler = (message: Uint8Array) => void;

/**
 * What `iterate()` does when its buffer is full because the consumer is slower than the channel.
 *
 * - `error`: the iterator unsubscribes at once, still yields the messages it had buffered, then
 *   its `next()` rejects with {@link BusOverflowError}. The consumer learns that it missed
 *   messages (a GraphQL subscription ends with an error; the client resubscribes and catches up
 *   from durable storage).
 * - `drop-oldest`: the oldest buffered message is discarded to make room and iteration goes on.
 *   For channels where only the latest messages matter (presence, "something changed" pings).
 */
export type OverflowPolicy = 'error' | 'drop-oldest';

/** Options of {@link Bus.iterate}. */
export interface IterateOptions {
  /**
   * Most messages held for a consumer that has not called `next()` yet.
   * @default 1024
   */
  readonly bufferSize?: number;
  /**
   * What to do when the buffer is full.
   * @default 'error'
   */
  readonly overflow?: OverflowPolicy;
  /** Ends the iterator (as `return()` does) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * What {@link Bus.iterate} returns: an async iterator (also `for await`-able and disposable) whose
 * `return()` and `throw()` are always present.
 */
export interface BusIterator extends AsyncIterableIterator<Uint8Array>, AsyncDisposable {
  return(): Promise<IteratorResult<Uint8Array, undefined>>;
  throw(error?: unknown): Promise<IteratorResult<Uint8Array, undefined>>;
}

/**
 * The cross-instance event bus: publish/subscribe of opaque bytes on named channels.
 *
 * Delivery is at most once and lossy by design (Redis pub/sub): a message published while a
 * subscriber is disconnected is never seen by it. Durable state lives elsewhere; the bus only
 * says "look now". Messages on one channel from one publisher arrive in publish order. Handlers
 * always run asynchronously, never inside `publish()`.
 */
export interface Bus extends AsyncDisposable {
  /** Publishes bytes on a channel; resolves when handed to the transport (pub/sub is lossy). */
  publish(channel: string, message: Uint8Array): Promise<void>;
  /**
   * Subscribes; resolves once the subscription is active, so a `publish()` (from any instance)
   * that starts after it resolves is seen. Returns an idempotent unsubscribe function; the handler
   * gets no message after that function is called, and its promise resolves once the transport
   * has dropped the subscription (when this was the channel's last local handler).
   */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  /**
   * Subscribes and returns the messages as an async iterator (for graphql-ws subscription
   * resolvers). Resolves once the subscription is active. `return()` unsubscribes at once, also
   * while a consumer is awaiting `next()` (that `next()` then resolves `{ done: true }`); buffered
   * messages are discarded. The buffer is bounded; see {@link IterateOptions}. When the bus closes,
   * iterators end (`done: true`).
   */
  iterate(channel: string, options?: IterateOptions): Promise<BusIterator>;
  /** Ends all subscriptions and iterators and releases the transport. Idempotent. */
  close(): Promise<void>;
}

/** Thrown by operations on a bus after `close()`. */
export class BusClosedError extends Error {
  constructor() {
    super('The bus is closed');
    this.name = 'BusClosedError';
  }
}

/** Rejects an iterator's `next()` when its consumer fell `bufferSize` messages behind. */
export class BusOverflowError extends Error {
  constructor(
    readonly channel: string,
    readonly bufferSize: number,
  ) {
    super(`Subscriber to "${channel}" fell more than ${bufferSize} messages behind`);
    this.name = 'BusOverflowError';
  }
}

/** The default error reporter: a process warning, so nothing is silently lost or crashes. */
export const warnOnBusError: BusErrorHandler = (error, context) => {
  const where =
    context.channel === undefined ? context.source : `${context.source} "${context.channel}"`;
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`bus ${where}: ${message}`, { code: 'COURIER_BUS' });
};

export function assertChannel(channel: unknown): asserts channel is string {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new TypeError('A bus channel must be a non-empty string');
  }
}

export function assertMessage(message: unknown): asserts message is Uint8Array {
  if (!(message instanceof Uint8Array)) {
    throw new TypeError('A bus message must be a Uint8Array');
  }
}
