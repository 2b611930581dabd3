import { Redis, type RedisOptions } from 'ioredis';
import { warnOnBusError, type BusErrorHandler } from './bus.ts';
import { AbstractBus } from './abstract-bus.ts';

/** Options of {@link RedisBus}. */
export interface RedisBusOptions {
  /**
   * Redis URL (`redis://[:password@]host:port[/db]`, or `rediss://` for TLS).
   * @default 'redis://127.0.0.1:6379'
   */
  readonly url?: string;
  /**
   * Prepended to every channel name on Redis, so that several deployments or tests can share one
   * Redis (e.g. `courier:prod:`). Required and non-empty.
   */
  readonly channelPrefix: string;
  /**
   * Extra ioredis options for both connections. `autoResubscribe` is always off (the bus
   * resubscribes itself); `connectionName` gets `:pub` / `:sub` appended.
   * @default {}
   */
  readonly redisOptions?: RedisOptions;
  /**
   * Receives connection errors and errors thrown by handlers.
   * @default warnOnBusError (a process warning)
   */
  readonly onError?: BusErrorHandler;
  /** Called after a reconnect, once every channel with local handlers is subscribed again. */
  readonly onResubscribe?: (channels: readonly string[]) => void;
}

/**
 * A {@link Bus} over Redis pub/sub, so every server instance sees what any instance publishes.
 *
 * It holds two connections: one to publish and one to subscribe, because a connection that has
 * subscribed to a channel is in subscriber mode and can only issue (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE,
 * PING and QUIT until it leaves every channel; publishing on it would fail. The publishing
 * connection auto-pipelines (ioredis `enableAutoPipelining`, unless `redisOptions` turns it off).
 *
 * However many local handlers a channel has, it costs one Redis SUBSCRIBE, released when the last
 * handler leaves. Payloads are binary-safe; handlers receive a fresh `Uint8Array` (not a Buffer),
 * shared by the local handlers of that message. After a lost connection the bus resubscribes every
 * channel that still has handlers (messages published in between are lost: pub/sub is lossy).
 *
 * @example
 * ```ts
 * await using bus = new RedisBus({ url: process.env.REDIS_URL, channelPrefix: 'courier:' });
 * const stop = await bus.subscribe('device:42', (bytes) => notify(bytes));
 * await bus.publish('device:42', payload);
 * await stop();
 * ```
 */
export class RedisBus extends AbstractBus {
  readonly #prefix: string;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #onResubscribe: ((channels: readonly string[]) => void) | undefined;
  #subscriberWasReady = false;

  constructor(options: RedisBusOptions) {
    const onError = options.onError ?? warnOnBusError;
    super(onError);
    if (typeof options.channelPrefix !== 'string' || options.channelPrefix.length === 0) {
      throw new TypeError('RedisBus needs a non-empty channelPrefix');
    }
    this.#prefix = options.channelPrefix;
    this.#onResubscribe = options.onResubscribe;
    const url = options.url ?? 'redis://127.0.0.1:6379';
    const base = options.redisOptions ?? {};
    const name = base.connectionName ?? 'courier-bus';
    // Auto-pipelining: publishes issued in the same turn of the event loop (a multi-recipient
    // send, many concurrent sends) leave in one write instead of one syscall each.
    this.#publisher = new Redis(url, {
      enableAutoPipelining: true,
      ...base,
      connectionName: `${name}:pub`,
    });
    this.#subscriber = new Redis(url, {
      ...base,
      connectionName: `${name}:sub`,
      autoResubscribe: false,
    });
    this.#publisher.on('error', (error: unknown) => onError(error, { source: 'connection' }));
    this.#subscriber.on('error', (error: unknown) => onError(error, { source: 'connection' }));
    this.#subscriber.on('messageBuffer', this.#onMessage);
    this.#subscriber.on('ready', this.#onSubscriberReady);
  }

  /** The channel prefix on Redis. */
  get channelPrefix(): string {
    return this.#prefix;
  }

  protected override async transportSubscribe(channel: string): Promise<void> {
    await this.#subscriber.subscribe(this.#prefix + channel);
  }

  protected override async transportUnsubscribe(channel: string): Promise<void> {
    if (this.closed) return;
    await this.#subscriber.unsubscribe(this.#prefix + channel);
  }

  protected override async transportPublish(channel: string, message: Uint8Array): Promise<void> {
    const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    await this.#publisher.publish(this.#prefix + channel, bytes);
  }

  protected override async transportClose(): Promise<void> {
    this.#subscriber.off('messageBuffer', this.#onMessage);
    this.#subscriber.off('ready', this.#onSubscriberReady);
    await Promise.all([closeConnection(this.#publisher), closeConnection(this.#subscriber)]);
  }

  readonly #onMessage = (channel: Buffer, message: Buffer): void => {
    const name = channel.toString('utf8');
    if (!name.startsWith(this.#prefix)) return;
    this.registry.dispatch(name.slice(this.#prefix.length), new Uint8Array(message));
  };

  readonly #onSubscriberReady = (): void => {
    if (!this.#subscriberWasReady) {
      this.#subscriberWasReady = true;
      return;
    }
    void this.#resubscribe();
  };

  async #resubscribe(): Promise<void> {
    const channels = this.registry.channels();
    try {
      if (channels.length > 0) {
        await this.#subscriber.subscribe(...channels.map((channel) => this.#prefix + channel));
      }
      this.#onResubscribe?.(channels);
    } catch (error) {
      this.onError(error, { source: 'connection' });
    }
  }
}

/** QUITs gracefully when connected, else disconnects; resolves once the connection has ended. */
async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
  if (redis.status === 'reconnecting') return;
  await ended;
}
