import {
  assertChannel,
  assertMessage,
  BusClosedError,
  type Bus,
  type BusErrorHandler,
  type BusIterator,
  type IterateOptions,
  type MessageHandler,
} from './bus.ts';
import { ChannelRegistry } from './channel-registry.ts';
import { MessageIterator } from './message-iterator.ts';

/**
 * What the two buses share: argument checks, local handler bookkeeping (one transport
 * subscription per channel), iterators and the closed state. Subclasses supply the transport.
 */
export abstract class AbstractBus implements Bus {
  /** Local handlers; subclasses deliver incoming messages through it. */
  protected readonly registry: ChannelRegistry;
  /** Where errors outside any caller's promise go. */
  protected readonly onError: BusErrorHandler;
  readonly #iterators = new Set<MessageIterator>();
  #closing: Promise<void> | undefined;

  protected constructor(onError: BusErrorHandler) {
    this.onError = onError;
    this.registry = new ChannelRegistry(
      {
        subscribe: (channel) => this.transportSubscribe(channel),
        unsubscribe: (channel) => this.transportUnsubscribe(channel),
      },
      onError,
    );
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** How many local handlers (subscriptions and iterators) this bus has on a channel. */
  handlerCount(channel: string): number {
    return this.registry.handlerCount(channel);
  }

  async publish(channel: string, message: Uint8Array): Promise<void> {
    assertChannel(channel);
    assertMessage(message);
    if (this.closed) throw new BusClosedError();
    await this.transportPublish(channel, message);
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    assertChannel(channel);
    if (typeof handler !== 'function') throw new TypeError('A bus handler must be a function');
    if (this.closed) throw new BusClosedError();
    const unsubscribe = await this.registry.add(channel, handler);
    if (this.closed) throw new BusClosedError();
    return unsubscribe;
  }

  async iterate(channel: string, options: IterateOptions = {}): Promise<BusIterator> {
    assertChannel(channel);
    const iterator = new MessageIterator(channel, options, this.onError);
    if (this.closed) throw new BusClosedError();
    const unsubscribe = await this.registry.add(channel, iterator.push);
    if (this.closed) throw new BusClosedError();
    this.#iterators.add(iterator);
    iterator.attach(unsubscribe, () => this.#iterators.delete(iterator));
    return iterator;
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.registry.clear();
      for (const iterator of [...this.#iterators]) void iterator.return();
      this.#closing = this.transportClose();
    }
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Starts the transport subscription of a channel's first local handler. */
  protected abstract transportSubscribe(channel: string): Promise<void>;
  /** Ends the transport subscription when a channel's last local handler leaves. */
  protected abstract transportUnsubscribe(channel: string): Promise<void>;
  /** Hands a message to the transport. */
  protected abstract transportPublish(channel: string, message: Uint8Array): Promise<void>;
  /** Releases the transport; called once. */
  protected abstract transportClose(): Promise<void>;
}
