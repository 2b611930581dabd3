import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import {
  TrunkRecordKind,
  TrunkWriter,
  decodeTrunkClose,
  encodeTrunkClose,
  keepTrunkAlive,
  readTrunkMessage,
} from '@courier/schema';
import type { Logger } from '@courier/logging';
import { CloseCode, type Server as GraphqlWsServer } from 'graphql-ws';
import type { Gauge } from 'prom-client';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { trunkMetrics } from './metrics.ts';

/** WebSocket close code for a message over the size limit ("Message Too Big"). */
const CLOSE_TOO_BIG = 1009;

/** The graphql-ws subprotocol a channel speaks (graphql-transport-ws). */
const GRAPHQL_WS_PROTOCOL = 'graphql-transport-ws';

/**
 * What the graphql-ws hooks of a subgraph see as `ctx.extra.socket`: a real WebSocket or a trunk
 * channel. Closing it ends that client's connection only.
 */
export interface GraphqlWsSocket {
  close(code?: number, reason?: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** `ctx.extra` of a subgraph's graphql-ws connections, on a socket or a trunk channel. */
export interface GraphqlWsExtra {
  readonly socket: GraphqlWsSocket;
  /** The upgrade request (the trunk's, for a channel: it carries the router secret). */
  readonly request: IncomingMessage;
}

/**
 * One client's graphql-ws connection carried on a trunk: the graphql-ws server sees a socket,
 * whose frames and close travel as records of the trunk.
 */
class TrunkChannel extends EventEmitter implements GraphqlWsSocket {
  onMessage: ((data: string) => Promise<void>) | undefined;
  #closed: ((code?: number, reason?: string) => Promise<void>) | undefined;
  #ended = false;

  constructor(
    readonly id: number,
    private readonly trunk: TrunkConnection,
  ) {
    super();
  }

  start(server: GraphqlWsServer<GraphqlWsExtra>, request: IncomingMessage): void {
    this.#closed = server.opened(
      {
        protocol: GRAPHQL_WS_PROTOCOL,
        send: (data) => this.trunk.write(this.id, TrunkRecordKind.frame, data),
        close: (code, reason) => this.close(code, reason),
        onMessage: (cb) => (this.onMessage = cb),
      },
      { socket: this, request },
    );
  }

  /** Closes from this side: tells the gateway, then ends the channel. */
  close(code = 1000, reason = ''): void {
    if (this.#ended) return;
    this.trunk.write(this.id, TrunkRecordKind.close, encodeTrunkClose(code, reason));
    this.end(code, reason);
  }

  /** Ends the channel without telling the gateway (it closed it, or the trunk is gone). */
  end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.trunk.forget(this.id);
    void this.#closed?.(code, reason);
    this.emit('close');
  }
}

/** One gateway's trunk: its channels and the writer that batches what goes back. */
class TrunkConnection {
  readonly #socket: WebSocket;
  readonly #channels = new Map<number, TrunkChannel>();
  readonly #writer: TrunkWriter;

  constructor(
    socket: WebSocket,
    private readonly request: IncomingMessage,
    private readonly server: GraphqlWsServer<GraphqlWsExtra>,
    private readonly logger: Logger,
    private readonly channelsOpen: Gauge.Internal<string>,
    private readonly maxFrameBytes: number,
  ) {
    this.#socket = socket;
    this.#writer = new TrunkWriter((message) => socket.send(message, { binary: true }));
    socket.on('message', (data: RawData, isBinary: boolean) => this.#received(data, isBinary));
    socket.on('error', () => undefined);
    socket.once('close', () => this.#lost());
  }

  write(channel: number, kind: TrunkRecordKind, payload: string | Buffer): void {
    if (this.#socket.readyState === this.#socket.OPEN) this.#writer.write(channel, kind, payload);
  }

  forget(channel: number): void {
    if (this.#channels.delete(channel)) this.channelsOpen.dec();
  }

  /** Ends every channel with 1001 ("Going away": clients reconnect elsewhere), then the trunk. */
  goAway(): void {
    for (const channel of [...this.#channels.values()]) channel.close(1001, 'Going away');
    this.#writer.flush();
    this.#socket.close(1001, 'Going away');
  }

  #received(data: RawData, isBinary: boolean): void {
    const message = readTrunkMessage(data, isBinary);
    if ('malformed' in message) {
      this.logger.warn({ reason: message.malformed }, 'malformed trunk message; closing the trunk');
      this.#socket.close(CloseCode.BadRequest, 'Malformed trunk message');
      return;
    }
    for (const record of message.records) {
      const existing = this.#channels.get(record.channel);
      if (record.kind === TrunkRecordKind.open) {
        if (existing) existing.close(CloseCode.BadRequest, 'Channel already open');
        const channel = new TrunkChannel(record.channel, this);
        this.#channels.set(record.channel, channel);
        this.channelsOpen.inc();
        channel.start(this.server, this.request);
      } else if (record.kind === TrunkRecordKind.close) {
        const { code, reason } = decodeTrunkClose(record.payload);
        existing?.end(code, reason);
      } else if (existing && record.payload.length > this.maxFrameBytes) {
        existing.close(CLOSE_TOO_BIG, 'Message too big');
      } else if (existing?.onMessage) {
        const deliver = existing.onMessage;
        deliver(record.payload.toString('utf8')).catch((error: unknown) => {
          this.logger.error(
            { err: error },
            'graphql-ws message handling failed on a trunk channel',
          );
          existing.close(CloseCode.InternalServerError, 'Internal server error');
        });
      }
    }
  }

  #lost(): void {
    this.#writer.discard();
    for (const channel of [...this.#channels.values()]) channel.end(1006, 'Trunk closed');
  }
}

/** Trunks served (see `@courier/schema`'s trunk codec). */
export interface TrunkServer {
  /** Ends every channel with 1001 and closes the trunks (graceful stop). */
  dispose(): Promise<void>;
}

/**
 * Serves the trunk endpoint on `wsServer` (a `noServer` WebSocketServer whose upgrades the caller
 * has already authenticated with the router secret): each channel of each trunk is handed to
 * `server` (the subgraph's graphql-ws server, the same hooks as its own sockets), so every
 * client is authenticated, served and revoked per channel as on a socket of its own. Trunks are
 * pinged every `keepAliveMs` (12 s) and cut when a ping goes unanswered. A channel that sends a
 * message over `maxFrameBytes` is closed with 1009, as a socket of its own would be; `courier_trunks_open`
 * and `courier_trunk_channels_open` count them.
 */
export function serveTrunks(
  wsServer: WebSocketServer,
  server: GraphqlWsServer<GraphqlWsExtra>,
  options: {
    readonly subgraph: string;
    readonly logger: Logger;
    /** Largest graphql-ws message a channel may send (as the per-client socket's `maxPayload`). */
    readonly maxFrameBytes: number;
    readonly keepAliveMs?: number;
  },
): TrunkServer {
  const { logger } = options;
  const trunksOpen = trunkMetrics.trunks.labels(options.subgraph);
  const channelsOpen = trunkMetrics.channels.labels(options.subgraph);
  const trunks = new Set<TrunkConnection>();
  wsServer.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const trunk = new TrunkConnection(
      socket,
      request,
      server,
      logger,
      channelsOpen,
      options.maxFrameBytes,
    );
    trunks.add(trunk);
    trunksOpen.inc();
    keepTrunkAlive(socket, options.keepAliveMs ?? 12_000);
    socket.once('close', (code: number) => {
      trunks.delete(trunk);
      trunksOpen.dec();
      logger.debug({ code }, 'trunk closed');
    });
    logger.debug('trunk opened');
  });
  return {
    async dispose() {
      for (const trunk of trunks) trunk.goAway();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
