import { warnOnBusError, type BusErrorHandler } from './bus.ts';
import { AbstractBus } from './abstract-bus.ts';

/** Options of {@link InProcessBus}. */
export interface InProcessBusOptions {
  /**
   * Receives errors thrown by handlers.
   * @default warnOnBusError (a process warning)
   */
  readonly onError?: BusErrorHandler;
}

/**
 * A bus within one process, for the single-node embedded mode and for tests. Semantics match
 * {@link RedisBus}: `publish()` copies the message (later changes by the publisher are not seen),
 * handlers subscribed when `publish()` was called receive it on a later turn of the event loop
 * (never synchronously), in publish order.
 */
export class InProcessBus extends AbstractBus {
  constructor(options: InProcessBusOptions = {}) {
    super(options.onError ?? warnOnBusError);
  }

  protected override transportSubscribe(): Promise<void> {
    return Promise.resolve();
  }

  protected override transportUnsubscribe(): Promise<void> {
    return Promise.resolve();
  }

  protected override transportPublish(channel: string, message: Uint8Array): Promise<void> {
    const handlers = this.registry.snapshot(channel);
    if (handlers.length > 0) {
      const copy = new Uint8Array(message);
      setImmediate(() => this.registry.deliver(channel, handlers, copy));
    }
    return Promise.resolve();
  }

  protected override transportClose(): Promise<void> {
    return Promise.resolve();
  }
}
