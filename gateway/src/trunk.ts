import {
  ROUTER_SECRET_HEADER,
  TRUNK_PATH,
  TRUNK_PROTOCOL,
  TrunkRecordKind,
  TrunkWriter,
  decodeTrunkClose,
  encodeTrunkClose,
  keepTrunkAlive,
  readTrunkMessage,
  trunkMaxPayload,
} from '@courier/schema';
import { WebSocket, type RawData } from 'ws';
import type { PinoLikeLogger } from './logger.ts';

/** Close code a channel ends with when its trunk is lost (WebSocket's "abnormal closure"). */
const CLOSE_TRUNK_LOST = 1006;

/** What the owner of a trunk channel hears. */
export interface TrunkChannelHandlers {
  /** One graphql-ws message from the subgraph (a view valid for this call). */
  frame(data: Buffer): void;
  /** The channel ended: closed by the subgraph, or its trunk was lost (1006). */
  closed(code: number, reason: string): void;
}

/** One client's graphql-ws connection to a subgraph, carried by a {@link SubgraphTrunk}. */
export interface TrunkChannel {
  /** Sends one graphql-ws message (queued while the trunk connects). */
  send(frame: string | Buffer): void;
  /** Ends the channel (the subgraph ends the client's connection); no `closed` follows. */
  close(code: number, reason: string): void;
}

/** What a trunk needs to reach its subgraph. */
export interface SubgraphTrunkOptions {
  /** The subgraph's GraphQL URL (http(s)); the trunk is at `TRUNK_PATH` on the same host. */
  readonly url: string;
  readonly routerSecret: string;
  /** Largest graphql-ws frame accepted from the subgraph. */
  readonly maxFrameBytes: number;
  readonly logger?: Pick<PinoLikeLogger, 'warn'> | undefined;
  /**
   * How often the gateway pings the trunk; a trunk whose subgraph has not answered the previous
   * ping by the next one is cut (its channels end as lost), so a vanished instance is noticed.
   * @default 12000
   */
  readonly keepAliveMs?: number;
}

/**
 * The gateway's end of a trunk to one subgraph (see `@courier/schema`'s trunk codec): one
 * WebSocket, opened on the first channel and again on the first channel after it is lost, that
 * carries every client connection of the passthrough lane to that subgraph as a channel. What
 * both sides write in one event-loop turn goes as one message, so a fan-out to hundreds of
 * devices crosses this hop in one write instead of one per device.
 *
 * A gateway keeps a small pool of them per subgraph (`trunksPerSubgraph`), so that behind a load
 * balancer its clients spread over as many instances; a graceful stop of an instance ends its
 * trunks with 1001, and the clients' next operations open new ones.
 */
export class SubgraphTrunk {
  readonly #options: SubgraphTrunkOptions;
  #connection: TrunkConnection | undefined;
  #closed = false;

  constructor(options: SubgraphTrunkOptions) {
    this.#options = options;
  }

  /** Opens a channel (and the trunk, if there is none). */
  open(handlers: TrunkChannelHandlers): TrunkChannel {
    if (this.#closed) {
      queueMicrotask(() => handlers.closed(1001, 'Gateway stopping'));
      return { send: () => undefined, close: () => undefined };
    }
    if (!this.#connection?.usable) {
      const connection = new TrunkConnection(this.#options, () => {
        if (this.#connection === connection) this.#connection = undefined;
      });
      this.#connection = connection;
    }
    return this.#connection.open(handlers);
  }

  /** Closes the trunk; its channels end with 1001. */
  close(): void {
    this.#closed = true;
    this.#connection?.close();
    this.#connection = undefined;
  }
}

class TrunkConnection {
  readonly #socket: WebSocket;
  readonly #writer: TrunkWriter;
  readonly #channels = new Map<number, TrunkChannelHandlers>();
  readonly #options: SubgraphTrunkOptions;
  readonly #onGone: () => void;
  #nextChannel = 1;
  #gone = false;

  constructor(options: SubgraphTrunkOptions, onGone: () => void) {
    this.#options = options;
    this.#onGone = onGone;
    const url = new URL(TRUNK_PATH, options.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, TRUNK_PROTOCOL, {
      headers: { [ROUTER_SECRET_HEADER]: options.routerSecret },
      maxPayload: trunkMaxPayload(options.maxFrameBytes),
    });
    this.#socket = socket;
    this.#writer = new TrunkWriter((message) => socket.send(message, { binary: true }), {
      paused: true,
    });
    socket.on('open', () => {
      this.#writer.resume();
      keepTrunkAlive(socket, options.keepAliveMs ?? 12_000);
    });
    socket.on('message', (data: RawData, isBinary: boolean) => this.#received(data, isBinary));
    socket.on('error', () => undefined);
    socket.once('close', (code: number) => this.#lost(code));
  }

  /** Whether new channels may use this connection (it is not closing or closed). */
  get usable(): boolean {
    return !this.#gone && this.#nextChannel < 0xffffffff;
  }

  open(handlers: TrunkChannelHandlers): TrunkChannel {
    const id = this.#nextChannel++;
    this.#channels.set(id, handlers);
    this.#writer.write(id, TrunkRecordKind.open);
    return {
      send: (frame) => {
        if (this.#channels.has(id)) this.#writer.write(id, TrunkRecordKind.frame, frame);
      },
      close: (code, reason) => {
        if (!this.#channels.delete(id)) return;
        this.#writer.write(id, TrunkRecordKind.close, encodeTrunkClose(code, reason));
        if (this.#channels.size === 0 && this.#socket.readyState === WebSocket.CONNECTING) {
          this.#socket.terminate();
        }
      },
    };
  }

  close(): void {
    if (this.#socket.readyState === WebSocket.CONNECTING) this.#socket.terminate();
    else {
      this.#writer.flush();
      this.#socket.close(1001, 'Gateway stopping');
    }
    this.#end(1001, 'Gateway stopping');
  }

  #received(data: RawData, isBinary: boolean): void {
    const message = readTrunkMessage(data, isBinary);
    if ('malformed' in message) {
      this.#options.logger?.warn({ reason: message.malformed }, 'malformed trunk message');
      this.#socket.terminate();
      return;
    }
    for (const record of message.records) {
      const handlers = this.#channels.get(record.channel);
      if (!handlers) continue;
      if (record.kind === TrunkRecordKind.frame) {
        if (record.payload.length <= this.#options.maxFrameBytes) handlers.frame(record.payload);
        else this.#endChannel(record.channel, handlers, 1009, 'Message too big');
      } else if (record.kind === TrunkRecordKind.close) {
        const { code, reason } = decodeTrunkClose(record.payload);
        this.#channels.delete(record.channel);
        handlers.closed(code, reason);
      }
    }
  }

  #endChannel(id: number, handlers: TrunkChannelHandlers, code: number, reason: string): void {
    this.#channels.delete(id);
    this.#writer.write(id, TrunkRecordKind.close, encodeTrunkClose(code, reason));
    handlers.closed(code, reason);
  }

  #lost(code: number): void {
    if (this.#channels.size > 0) {
      this.#options.logger?.warn(
        { code, channels: this.#channels.size },
        'trunk to a subgraph closed with channels open',
      );
    }
    this.#end(CLOSE_TRUNK_LOST, 'Trunk lost');
  }

  #end(code: number, reason: string): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#writer.discard();
    this.#onGone();
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    for (const handlers of channels) handlers.closed(code, reason);
  }
}
