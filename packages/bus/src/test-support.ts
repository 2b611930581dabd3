import type { MessageHandler } from './bus.ts';

/** Test helper: a handler that records messages and lets a test await the n-th one. */
export class Collector {
  readonly messages: Uint8Array[] = [];
  readonly #waiters: { count: number; resolve: (messages: Uint8Array[]) => void }[] = [];

  readonly handler: MessageHandler = (message) => {
    this.messages.push(message);
    for (const waiter of [...this.#waiters]) {
      if (this.messages.length >= waiter.count) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(this.messages.slice(0, waiter.count));
      }
    }
  };

  /** Resolves with the first `count` messages once that many have arrived. */
  until(count: number): Promise<Uint8Array[]> {
    if (this.messages.length >= count) return Promise.resolve(this.messages.slice(0, count));
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

export function decode(value: Uint8Array): string {
  return new TextDecoder().decode(value);
}
