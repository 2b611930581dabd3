import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  createGatewayRuntime,
  getGraphQLWSOptions,
  type GatewayRuntime,
} from '@graphql-hive/gateway';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { createRuntimeConfig, GRAPHQL_ENDPOINT } from './config.ts';
import { CLIENT_KEY_HEADER } from '@courier/schema';
import { ClientKeys } from './client-key.ts';
import { allowedOrigins, webSocketOriginAllowed } from './cors.ts';
import {
  LiveConfigFile,
  reloadTlsOnChange,
  tlsServerOptions,
  type LiveConfig,
} from '@courier/config';
import { READINESS_ENDPOINT } from './readiness.ts';
import {
  resolveGatewayOptions,
  type GatewayOptions,
  type ResolvedGatewayOptions,
} from './options.ts';
import { setUpGatewayTracing } from './tracing.ts';
import type { ClientLane } from './passthrough.ts';
import { SubgraphPassthrough } from './passthrough.ts';
import { SingleSubgraphOperations } from './single-subgraph.ts';
import { subgraphLocations } from './subgraphs.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import type { GraphQLSchema } from 'graphql';

export {
  GATEWAY_DEFAULTS,
  type GatewayOptions,
  type MetricsSource,
  type TlsFiles,
} from './options.ts';
export { MAX_CLIENT_BUFFERED_BYTES, MAX_PENDING_FRAMES } from './passthrough.ts';
import type { PinoLikeLogger } from './logger.ts';
export type { PinoLikeLogger } from './logger.ts';

/** A running gateway, from {@link createGateway}. */
export interface RunningGateway {
  /** GraphQL endpoint for HTTP and SSE: `http(s)://host:port/graphql`. */
  url: string;
  /** GraphQL endpoint for graphql-ws: `ws(s)://host:port/graphql`. */
  wsUrl: string;
  /**
   * First step of a graceful stop: `/readiness` answers 503 from now on, so load balancers take
   * the gateway out, while it still serves everything. Idempotent.
   */
  drain(): void;
  /**
   * Graceful stop (idempotent): `/readiness` answers 503 at once, no new connection is
   * accepted, graphql-ws clients are told to go elsewhere (close 1001), in-flight HTTP requests
   * get `shutdownGraceMs` to finish, then the gateway runtime is disposed.
   */
  close(): Promise<void>;
}

/** How long WebSocket clients get to complete the close handshake before they are cut off. */
const WEBSOCKET_CLOSE_GRACE_MS = 1000;

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** The graphql-ws fast lane for `resolved` (see {@link SubgraphPassthrough}). */
function createPassthrough(
  resolved: ResolvedGatewayOptions,
  apiSchema: GraphQLSchema,
  metrics: GatewayMetrics,
): SubgraphPassthrough {
  return new SubgraphPassthrough({
    operations: new SingleSubgraphOperations({
      supergraphSdl: resolved.supergraphSdl,
      apiSchema,
      limits: resolved,
    }),
    locations: subgraphLocations(resolved.supergraphSdl, resolved.subgraphUrls),
    routerSecret: resolved.routerSecret,
    maxPayload: resolved.maxRequestBytes,
    trunksPerSubgraph: resolved.trunksPerSubgraph,
    metrics,
    logger: resolved.logger,
  });
}

/**
 * The request Hive sees for a graphql-ws operation: the upgrade request's URL and headers, as a
 * POST. Yoga refuses mutations in a GET request (a rule against cross-site GETs over HTTP), and
 * the upgrade is a GET, so without this no mutation could run over graphql-ws; the socket's
 * origin was already checked at the upgrade.
 */
function upgradeRequest(req: IncomingMessage, fetchAPI: GatewayRuntime['fetchAPI']): Request {
  const headers = new fetchAPI.Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return new fetchAPI.Request(new URL(req.url ?? '/', 'http://localhost'), {
    method: 'POST',
    headers,
  });
}

function refuseUpgrade(socket: Socket, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Message types a graphql-ws client may send (graphql-transport-ws protocol). */
const CLIENT_MESSAGE_TYPES = new Set(['connection_init', 'ping', 'pong', 'subscribe', 'complete']);

/**
 * Watches what a client sends before graphql-ws sees it, parsing each message once:
 * - a well-formed message whose type only a server sends (`next`, `error`, `connection_ack`)
 *   closes the socket with 4400 (Bad Request): graphql-ws treats those as its own internal
 *   error, answering 4500 and writing to `console.error`, so any client could cause both;
 * - single-subgraph operations (and their `complete`) go to the passthrough lane, when there is
 *   one.
 * Everything else reaches graphql-ws (Hive) unchanged.
 */
function interceptClientMessages(ws: WebSocket, lane: ClientLane | undefined): void {
  const emit = ws.emit.bind(ws);
  ws.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'message') {
      let message: { type?: unknown; id?: unknown; payload?: unknown } | null | undefined;
      try {
        message = JSON.parse(String(args[0])) as typeof message;
      } catch {
        message = undefined;
      }
      const type = message?.type;
      if (typeof type === 'string') {
        if (!CLIENT_MESSAGE_TYPES.has(type)) {
          ws.close(4400, 'Invalid message received');
          return true;
        }
        if (lane && message && lane.take(type, message, args[0] as RawData)) return true;
      }
    }
    return emit(event, ...args);
  }) as WebSocket['emit'];
}

/**
 * Serves graphql-ws on `server` at the GraphQL path, through the gateway runtime (so limits,
 * error masking and header propagation apply as on HTTP). Upgrades from foreign browser origins
 * are refused; messages over `maxPayload` bytes close the socket (1009).
 */
function serveGraphqlWs(
  server: Server,
  runtime: GatewayRuntime,
  clientKeys: ClientKeys,
  origins: ReadonlySet<string>,
  maxPayload: number,
  passthrough: SubgraphPassthrough | undefined,
): { close(): Promise<void> } {
  const wsServer = new WebSocketServer({ noServer: true, maxPayload });
  const lanes = new WeakMap<WebSocket, ClientLane>();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== GRAPHQL_ENDPOINT) {
      refuseUpgrade(socket, '404 Not Found');
    } else if (!webSocketOriginAllowed(req.headers.origin, req.headers.host, origins)) {
      refuseUpgrade(socket, '403 Forbidden');
    } else {
      const clientKey = clientKeys.stamp(req);
      wsServer.handleUpgrade(req, socket, head, (ws) => {
        const lane = passthrough?.attach(ws, clientKey);
        if (lane) lanes.set(ws, lane);
        interceptClientMessages(ws, lane);
        wsServer.emit('connection', ws, req);
      });
    }
  });
  const graphqlWs = useServer<
    Record<string, unknown>,
    { request: IncomingMessage; socket: WebSocket }
  >(
    {
      ...getGraphQLWSOptions<
        Record<string, unknown>,
        { request: IncomingMessage; socket: WebSocket }
      >(runtime, (ctx) => ({
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        // Not under `headers`, which a client's connectionParams can override.
        courierClient: ctx.extra.request.headers[CLIENT_KEY_HEADER],
        request: upgradeRequest(ctx.extra.request, runtime.fetchAPI),
      })),
      // Accepts every connection, as without the hook, and opens the socket's passthrough lane
      // before graphql-ws acknowledges it.
      onConnect: (ctx) => {
        lanes.get(ctx.extra.socket)?.connected(ctx.connectionParams);
        return true;
      },
    },
    wsServer,
  );
  return {
    async close() {
      const fuse = setTimeout(() => {
        for (const client of wsServer.clients) client.terminate();
      }, WEBSOCKET_CLOSE_GRACE_MS);
      await graphqlWs.dispose();
      clearTimeout(fuse);
      passthrough?.close();
    },
  };
}

/**
 * Stops accepting connections and lets in-flight requests finish (idle keep-alive connections
 * close at once); after `graceMs` the rest are cut.
 */
async function stopAccepting(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const fuse = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(fuse);
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

const SILENT_LIVE_CONFIG_LOGGER = { info: () => undefined, error: () => undefined };

/**
 * How the gateway applies its live configuration: `corsOrigins` replace the allowed origins in
 * place (Apollo Sandbox stays), and the logger's level follows `logLevel` (back to its start-up
 * level when the file drops it).
 */
function liveConfigApplier(resolved: ResolvedGatewayOptions, logger: PinoLikeLogger | undefined) {
  const startLevel = logger?.level;
  return (config: LiveConfig) => {
    const origins = allowedOrigins(config.corsOrigins ?? resolved.corsOrigins);
    resolved.allowedOrigins.clear();
    for (const origin of origins) resolved.allowedOrigins.add(origin);
    if (logger && startLevel !== undefined) logger.level = config.logLevel ?? startLevel;
  };
}

/**
 * Starts the Courier router in this process: Hive Gateway over the supergraph, served on one
 * HTTP(S) server with graphql-ws on the same `/graphql` path. Resolves once it listens; throws
 * (having released everything) when the options, the supergraph or the port are unusable.
 */
export async function createGateway(options: GatewayOptions): Promise<RunningGateway> {
  const resolved = resolveGatewayOptions(options);
  const tracing = await setUpGatewayTracing({ logger: resolved.logger });
  const metrics = createGatewayMetrics();
  const runtime = createGatewayRuntime(createRuntimeConfig(resolved, tracing, metrics));
  const clientKeys = new ClientKeys(resolved.routerSecret, { trustProxy: resolved.trustProxy });
  let server: Server | undefined;
  let tlsReload: { close(): void } | undefined;
  let draining = false;
  const liveConfig = resolved.liveConfigFile
    ? new LiveConfigFile(
        resolved.liveConfigFile,
        liveConfigApplier(resolved, options.logger),
        options.logger ?? SILENT_LIVE_CONFIG_LOGGER,
      )
    : undefined;
  let graphqlWs: { close(): Promise<void> } | undefined;
  try {
    await runtime.getSchema();
    await liveConfig?.start();
    const handler: RequestListener = (req, res) => {
      const courierClient = clientKeys.stamp(req);
      if (draining && req.url?.split('?')[0] === READINESS_ENDPOINT) {
        res.writeHead(503, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ ready: false, draining: true }));
        return;
      }
      void runtime(req, res, { courierClient });
    };
    server = resolved.tls
      ? createHttpsServer(tlsServerOptions(resolved.tls), handler)
      : createHttpServer(handler);
    if (resolved.tls && server instanceof HttpsServer) {
      tlsReload = reloadTlsOnChange(
        server,
        resolved.tls,
        options.logger ?? SILENT_LIVE_CONFIG_LOGGER,
      );
    }
    graphqlWs = serveGraphqlWs(
      server,
      runtime,
      clientKeys,
      resolved.allowedOrigins,
      resolved.maxRequestBytes,
      resolved.passthrough
        ? createPassthrough(resolved, await runtime.getSchema(), metrics)
        : undefined,
    );
    const address = await listen(server, resolved.port, resolved.host);
    const secure = resolved.tls !== undefined;
    const authority = `${urlHost(resolved.host)}:${address.port}`;
    const [httpServer, webSockets] = [server, graphqlWs];
    let closing: Promise<void> | undefined;
    return {
      url: `${secure ? 'https' : 'http'}://${authority}${GRAPHQL_ENDPOINT}`,
      wsUrl: `${secure ? 'wss' : 'ws'}://${authority}${GRAPHQL_ENDPOINT}`,
      drain() {
        draining = true;
      },
      close() {
        draining = true;
        closing ??= (async () => {
          liveConfig?.close();
          tlsReload?.close();
          const stopped = stopAccepting(httpServer, resolved.shutdownGraceMs);
          await webSockets.close();
          await stopped;
          await runtime.dispose();
        })();
        return closing;
      },
    };
  } catch (error) {
    liveConfig?.close();
    tlsReload?.close();
    await graphqlWs?.close();
    if (server?.listening) await closeServer(server);
    await runtime.dispose();
    throw error;
  }
}
