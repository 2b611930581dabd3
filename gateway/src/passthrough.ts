import { ErrorCode } from '@courier/errors';
import { CLIENT_KEY_CONNECTION_PARAM } from '@courier/schema';
import { OperationTypeNode } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { WebSocket, type RawData } from 'ws';
import type { PinoLikeLogger } from './logger.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { SingleSubgraphOperations } from './single-subgraph.ts';
import { SubgraphTrunk, type TrunkChannel } from './trunk.ts';

/** Close code for a client that does not keep up ("Try Again Later"); clients reconnect. */
const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * Most bytes waiting to be written to one client socket; a client that lets more pile up (it
 * does not read) is cut off (`terminate`: a close handshake would keep the pile for its 30 s
 * timeout) rather than held in the gateway's memory.
 */
export const MAX_CLIENT_BUFFERED_BYTES = 8 * 1024 * 1024;

/** Most client frames held while an upstream connection is still being opened. */
export const MAX_PENDING_FRAMES = 256;

/** What {@link SubgraphPassthrough} needs to reach subgraphs. */
export interface PassthroughOptions {
  readonly operations: SingleSubgraphOperations;
  /** Each subgraph's GraphQL URL (http(s)); its trunk endpoint is on the same host. */
  readonly locations: Readonly<Record<string, string>>;
  readonly routerSecret: string;
  /** Largest frame accepted from a subgraph. */
  readonly maxPayload: number;
  /** Trunks per subgraph, used in turn by new client connections. @default 1 */
  readonly trunksPerSubgraph?: number;
  /** Counts the operations handed over, and the subscriptions among them while they run. */
  readonly metrics?: Pick<
    GatewayMetrics,
    'passedThrough' | 'subscriptionsOpen' | 'slowClientsCutOff'
  >;
  /** Where an upstream connection that ends running operations is reported (subgraph, close code). */
  readonly logger?: Pick<PinoLikeLogger, 'warn'> | undefined;
}

/** What a client's `subscribe` message carries. */
interface SubscribePayload {
  readonly query?: unknown;
  readonly operationName?: unknown;
}

function errorFrame(id: string, message: string, code: string): string {
  return JSON.stringify({ id, type: 'error', payload: [{ message, extensions: { code } }] });
}

/**
 * Whether a graphql-ws message from a subgraph is a `next`, read from its first bytes: graphql-ws
 * writes `{"id":<string>,"type":"next",...`. Anything else (or another writer's key order) reads
 * as "not known to be a `next`", and the caller parses it. This spares the gateway parsing every
 * envelope it relays just to learn that it is one.
 */
export function isNextFrame(frame: Buffer): boolean {
  if (!frame.subarray(0, ID_PREFIX.length).equals(ID_PREFIX)) return false;
  let at = ID_PREFIX.length;
  while (at < frame.length) {
    const byte = frame[at]!;
    if (byte === BACKSLASH) at += 2;
    else if (byte === QUOTE) break;
    else at++;
  }
  return frame.subarray(at + 1, at + 1 + NEXT_TYPE.length).equals(NEXT_TYPE);
}
const ID_PREFIX = Buffer.from('{"id":"');
const NEXT_TYPE = Buffer.from(',"type":"next"');
const BACKSLASH = 0x5c;
const QUOTE = 0x22;

/**
 * The gateway's fast lane for graphql-ws: operations one subgraph answers alone (see
 * `SingleSubgraphOperations`) skip Hive's planner and executor and go to that subgraph as they
 * are. This is what carries a device's `sendMessage`, `acknowledgeEnvelopes` and
 * `Subscription.envelopes` on the hot path, as Signal's chat socket does, while everything else
 * on the same client socket is served by Hive.
 *
 * Each client socket gets at most one upstream connection per subgraph: a channel of one of the
 * gateway's trunks to that subgraph (see {@link SubgraphTrunk}; clients take the pool's trunks in
 * turn), opened on its first such
 * operation with the client's `authorization` (from its accepted `connection_init`) and its
 * pseudonym, so the subgraph authenticates the device once per connection and revokes it by
 * closing it (4401, passed on to the client as `UNAUTHENTICATED` errors of its operations; as
 * Signal's authenticated socket, it outlives the token's expiry but not a revocation). The
 * operation ids are the client's own, and frames are relayed unchanged. Errors inside results
 * are the subgraph's, formatted to the closed code set there. If an upstream connection fails,
 * every operation it carried ends with an `INTERNAL` error (the client subscribes again, through
 * any instance) and the next operation opens a new one. Memory is bounded: a client that does
 * not read (over {@link MAX_CLIENT_BUFFERED_BYTES} waiting) is cut off, and one that floods
 * operations while its upstream connection opens (over {@link MAX_PENDING_FRAMES}) is closed
 * with 1013; both reconnect. Decision: a client that reuses the id of a running passthrough
 * operation is closed with 4409, as graphql-ws does; ids are not checked across the two lanes.
 */
export class SubgraphPassthrough {
  readonly #options: PassthroughOptions;
  readonly #trunks = new Map<string, { readonly pool: SubgraphTrunk[]; next: number }>();

  constructor(options: PassthroughOptions) {
    this.#options = options;
  }

  /** Starts watching one accepted client socket; see {@link ClientLane}. */
  attach(client: WebSocket, clientKey: string | undefined): ClientLane {
    return new ClientLane(this.#options, (subgraph) => this.#trunk(subgraph), client, clientKey);
  }

  /** Closes the trunks (the gateway is stopping); running lane operations end. */
  close(): void {
    for (const { pool } of this.#trunks.values()) for (const trunk of pool) trunk.close();
  }

  /** The next trunk of `subgraph`'s pool, in turn. */
  #trunk(subgraph: string): SubgraphTrunk {
    let trunks = this.#trunks.get(subgraph);
    if (!trunks) {
      const pool = Array.from(
        { length: this.#options.trunksPerSubgraph ?? 1 },
        () =>
          new SubgraphTrunk({
            url: this.#options.locations[subgraph]!,
            routerSecret: this.#options.routerSecret,
            maxFrameBytes: this.#options.maxPayload,
            logger: this.#options.logger,
          }),
      );
      trunks = { pool, next: 0 };
      this.#trunks.set(subgraph, trunks);
    }
    const trunk = trunks.pool[trunks.next]!;
    trunks.next = (trunks.next + 1) % trunks.pool.length;
    return trunk;
  }
}

interface Upstream {
  readonly subgraph: string;
  readonly channel: TrunkChannel;
  ready: boolean;
  readonly pending: (string | Buffer)[];
}

/** One client socket's passthrough state. */
export class ClientLane {
  readonly #options: PassthroughOptions;
  readonly #trunk: (subgraph: string) => SubgraphTrunk;
  readonly #client: WebSocket;
  readonly #clientKey: string | undefined;
  readonly #upstreams = new Map<string, Upstream>();
  /** Running operations by id: their upstream connection, and whether they are subscriptions. */
  readonly #owners = new Map<string, { upstream: Upstream; subscription: boolean }>();
  #authorization: string | undefined;
  #connected = false;
  #closed = false;

  constructor(
    options: PassthroughOptions,
    trunk: (subgraph: string) => SubgraphTrunk,
    client: WebSocket,
    clientKey: string | undefined,
  ) {
    this.#options = options;
    this.#trunk = trunk;
    this.#client = client;
    this.#clientKey = clientKey;
    client.once('close', () => this.#close());
  }

  /**
   * Called when the gateway accepts the client's `connection_init`, with its connection params:
   * operations may flow from now on, with the client's `authorization`.
   */
  connected(connectionParams: Readonly<Record<string, unknown>> | undefined): void {
    const authorization = connectionParams?.['authorization'];
    this.#authorization = typeof authorization === 'string' ? authorization : undefined;
    this.#connected = true;
  }

  /**
   * Takes a client message if it belongs to the passthrough lane: a `subscribe` of a
   * single-subgraph operation, or a `complete` of one. Answers whether it took it; the gateway
   * serves the others.
   */
  take(type: string, message: { id?: unknown; payload?: unknown }, raw: RawData): boolean {
    if (!this.#connected || this.#closed || typeof message.id !== 'string') return false;
    const id = message.id;
    if (type === 'complete') {
      const owner = this.#owners.get(id);
      if (!owner) return false;
      this.#ended(id);
      this.#send(owner.upstream, raw as Buffer);
      return true;
    }
    if (type !== 'subscribe') return false;
    const payload = message.payload as SubscribePayload | null | undefined;
    if (typeof payload?.query !== 'string') return false;
    const operationName =
      typeof payload.operationName === 'string' ? payload.operationName : undefined;
    const operation = this.#options.operations.owner(payload.query, operationName);
    if (!operation) return false;
    if (this.#owners.has(id)) {
      this.#client.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
      return true;
    }
    const upstream = this.#upstream(operation.subgraph);
    const subscription = operation.operationType === OperationTypeNode.SUBSCRIPTION;
    this.#owners.set(id, { upstream, subscription });
    this.#options.metrics?.passedThrough(operation);
    if (subscription) this.#options.metrics?.subscriptionsOpen.inc();
    this.#send(upstream, raw as Buffer);
    return true;
  }

  /** Forgets a finished operation (a subscription no longer counts as open). */
  #ended(id: string): void {
    const owner = this.#owners.get(id);
    if (!owner) return;
    this.#owners.delete(id);
    if (owner.subscription) this.#options.metrics?.subscriptionsOpen.dec();
  }

  #send(upstream: Upstream, frame: string | Buffer): void {
    if (upstream.ready) upstream.channel.send(frame);
    else if (upstream.pending.length < MAX_PENDING_FRAMES) upstream.pending.push(frame);
    else this.#client.close(CLOSE_TRY_AGAIN_LATER, 'Too many operations while connecting');
  }

  #upstream(subgraph: string): Upstream {
    const existing = this.#upstreams.get(subgraph);
    if (existing) return existing;
    const upstream: Upstream = {
      subgraph,
      channel: this.#trunk(subgraph).open({
        frame: (data) => this.#fromUpstream(upstream, data),
        closed: (code) => this.#upstreamClosed(upstream, code),
      }),
      ready: false,
      pending: [],
    };
    this.#upstreams.set(subgraph, upstream);
    upstream.channel.send(
      JSON.stringify({
        type: 'connection_init',
        payload: {
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
          ...(this.#clientKey ? { [CLIENT_KEY_CONNECTION_PARAM]: this.#clientKey } : {}),
        },
      }),
    );
    return upstream;
  }

  #fromUpstream(upstream: Upstream, data: Buffer): void {
    if (isNextFrame(data)) {
      this.#toClient(data);
      return;
    }
    let message: { type?: unknown; id?: unknown };
    try {
      message = JSON.parse(data.toString('utf8')) as { type?: unknown; id?: unknown };
    } catch {
      upstream.channel.close(1007, 'Invalid frame');
      this.#upstreamClosed(upstream, 1007);
      return;
    }
    switch (message.type) {
      case 'next':
        this.#toClient(data);
        return;
      case 'error':
      case 'complete':
        if (typeof message.id === 'string' && this.#owners.get(message.id)?.upstream === upstream) {
          this.#ended(message.id);
          this.#toClient(data);
        }
        return;
      case 'connection_ack':
        upstream.ready = true;
        for (const frame of upstream.pending.splice(0)) upstream.channel.send(frame);
        return;
      case 'ping':
        upstream.channel.send(JSON.stringify({ type: 'pong' }));
        return;
      default:
        return;
    }
  }

  #toClient(frame: string | Buffer): void {
    if (this.#client.readyState !== WebSocket.OPEN) return;
    if (this.#client.bufferedAmount > MAX_CLIENT_BUFFERED_BYTES) {
      this.#options.metrics?.slowClientsCutOff.inc();
      this.#client.terminate();
      return;
    }
    this.#client.send(frame, { binary: false });
  }

  #upstreamClosed(upstream: Upstream, code: number): void {
    const subgraph = upstream.subgraph;
    if (this.#upstreams.get(subgraph) === upstream) this.#upstreams.delete(subgraph);
    upstream.pending.length = 0;
    const running = [...this.#owners].filter(([, owner]) => owner.upstream === upstream);
    if (running.length === 0) return;
    this.#options.logger?.warn(
      { subgraph, code, operations: running.length },
      'passthrough connection to a subgraph closed with operations running',
    );
    const [message, errorCode] =
      code === CloseCode.Unauthorized
        ? ['Unauthorized', ErrorCode.UNAUTHENTICATED]
        : ['The connection to the service was lost; subscribe again', ErrorCode.INTERNAL];
    for (const [id] of running) {
      this.#ended(id);
      this.#toClient(errorFrame(id, message, errorCode));
    }
  }

  #close(): void {
    this.#closed = true;
    for (const id of [...this.#owners.keys()]) this.#ended(id);
    for (const upstream of this.#upstreams.values()) upstream.channel.close(1000, 'Client closed');
    this.#upstreams.clear();
  }
}
