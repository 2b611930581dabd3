import {
  BusOverflowError,
  type BusErrorHandler,
  type BusIterator,
  type IterateOptions,
  type MessageHandler,
  type OverflowPolicy,
} from './bus.ts';

/** Default {@link IterateOptions.bufferSize}. */
export const DEFAULT_ITERATOR_BUFFER_SIZE = 1024;

type Result = IteratorResult<Uint8Array, undefined>;

interface Waiter {
  resolve(result: Result): void;
}

const DONE: Result = Object.freeze({ value: undefined, done: true });

/**
 * A push-to-pull adapter: the bus pushes messages with {@link MessageIterator.push}, a consumer
 * pulls them with `next()`. Not a generator, so `return()` takes effect even while a `next()` is
 * pending.
 */
export class MessageIterator implements BusIterator {
  readonly #channel: string;
  readonly #bufferSize: number;
  readonly #overflow: OverflowPolicy;
  readonly #onError: BusErrorHandler;
  readonly #signal: AbortSignal | undefined;
  readonly #buffer: Uint8Array[] = [];
  readonly #waiters: Waiter[] = [];
  #state: 'open' | 'failed' | 'ended' = 'open';
  #failure: BusOverflowError | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #onDetach: (() => void) | undefined;
  #detached: Promise<void> | undefined;

  /** Messages discarded under the `drop-oldest` policy so far. */
  dropped = 0;

  constructor(channel: string, options: IterateOptions, onError: BusErrorHandler) {
    const bufferSize = options.bufferSize ?? DEFAULT_ITERATOR_BUFFER_SIZE;
    if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError('bufferSize must be a positive integer');
    }
    const overflow = options.overflow ?? 'error';
    if (overflow !== 'error' && overflow !== 'drop-oldest') {
      throw new RangeError('overflow must be "error" or "drop-oldest"');
    }
    this.#channel = channel;
    this.#bufferSize = bufferSize;
    this.#overflow = overflow;
    this.#onError = onError;
    this.#signal = options.signal;
  }

  /** The handler to subscribe with. */
  readonly push: MessageHandler = (message) => {
    if (this.#state !== 'open') return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ value: message, done: false });
      return;
    }
    if (this.#buffer.length >= this.#bufferSize) {
      if (this.#overflow === 'error') {
        this.#state = 'failed';
        this.#failure = new BusOverflowError(this.#channel, this.#bufferSize);
        void this.#detach();
        return;
      }
      this.#buffer.shift();
      this.dropped += 1;
    }
    this.#buffer.push(message);
  };

  /**
   * Connects the iterator to its subscription; `onDetach` runs once when it lets go of it. If the
   * abort signal has already fired, the iterator ends at once.
   */
  attach(unsubscribe: () => Promise<void>, onDetach: () => void): void {
    this.#unsubscribe = unsubscribe;
    this.#onDetach = onDetach;
    if (this.#state !== 'open') void this.#detach();
    else if (this.#signal?.aborted) void this.return();
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  next(): Promise<Result> {
    const message = this.#buffer.shift();
    if (message) return Promise.resolve({ value: message, done: false });
    if (this.#state === 'failed') {
      this.#state = 'ended';
      const failure = this.#failure;
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    if (this.#state === 'ended') return Promise.resolve(DONE);
    return new Promise((resolve) => this.#waiters.push({ resolve }));
  }

  /**
   * Ends the iterator at once: pending and later `next()` calls resolve `done`, buffered messages
   * are discarded; resolves when the subscription is released.
   */
  async return(): Promise<Result> {
    if (this.#state !== 'ended') {
      this.#state = 'ended';
      this.#failure = undefined;
      this.#buffer.length = 0;
      for (const waiter of this.#waiters.splice(0)) waiter.resolve(DONE);
    }
    await this.#detach();
    return DONE;
  }

  /** Ends the iterator like `return()`, then rejects with `error`. */
  async throw(error?: unknown): Promise<Result> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  readonly #onAbort = (): void => {
    void this.return();
  };

  #detach(): Promise<void> {
    if (!this.#unsubscribe) return Promise.resolve();
    if (!this.#detached) {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#onDetach?.();
      this.#detached = this.#unsubscribe().catch((error: unknown) =>
        this.#onError(error, { source: 'connection', channel: this.#channel }),
      );
    }
    return this.#detached;
  }
}
