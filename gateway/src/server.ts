import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  createGatewayRuntime,
  getGraphQLWSOptions,
  type GatewayRuntime,
} from '@graphql-hive/gateway';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { createRuntimeConfig, GRAPHQL_ENDPOINT } from './config.ts';
import { allowedOrigins, webSocketOriginAllowed } from './cors.ts';
import { resolveGatewayOptions, type GatewayOptions } from './options.ts';

export { GATEWAY_DEFAULTS, type GatewayOptions, type TlsFiles } from './options.ts';
export type { PinoLikeLogger } from './logger.ts';

/** A running gateway, from {@link createGateway}. */
export interface RunningGateway {
  /** GraphQL endpoint for HTTP and SSE: `http(s)://host:port/graphql`. */
  url: string;
  /** GraphQL endpoint for graphql-ws: `ws(s)://host:port/graphql`. */
  wsUrl: string;
  /** Closes the WebSocket server, the HTTP(S) server and the gateway runtime. Idempotent. */
  close(): Promise<void>;
}

/** How long WebSocket clients get to complete the close handshake before they are cut off. */
const WEBSOCKET_CLOSE_GRACE_MS = 1000;

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function upgradeRequest(req: IncomingMessage, fetchAPI: GatewayRuntime['fetchAPI']): Request {
  const headers = new fetchAPI.Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return new fetchAPI.Request(new URL(req.url ?? '/', 'http://localhost'), { headers });
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

/**
 * Serves graphql-ws on `server` at the GraphQL path, through the gateway runtime (so limits,
 * error masking and header propagation apply as on HTTP). Upgrades from foreign browser origins
 * are refused; messages over `maxPayload` bytes close the socket (1009).
 */
function serveGraphqlWs(
  server: Server,
  runtime: GatewayRuntime,
  origins: ReadonlySet<string>,
  maxPayload: number,
): { close(): Promise<void> } {
  const wsServer = new WebSocketServer({ noServer: true, maxPayload });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== GRAPHQL_ENDPOINT) {
      refuseUpgrade(socket, '404 Not Found');
    } else if (!webSocketOriginAllowed(req.headers.origin, req.headers.host, origins)) {
      refuseUpgrade(socket, '403 Forbidden');
    } else {
      wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req));
    }
  });
  const graphqlWs = useServer(
    getGraphQLWSOptions<Record<string, unknown>, { request: IncomingMessage; socket: unknown }>(
      runtime,
      (ctx) => ({
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        request: upgradeRequest(ctx.extra.request, runtime.fetchAPI),
      }),
    ),
    wsServer,
  );
  return {
    async close() {
      const fuse = setTimeout(() => {
        for (const client of wsServer.clients) client.terminate();
      }, WEBSOCKET_CLOSE_GRACE_MS);
      await graphqlWs.dispose();
      clearTimeout(fuse);
    },
  };
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/**
 * Starts the Courier router in this process: Hive Gateway over the supergraph, served on one
 * HTTP(S) server with graphql-ws on the same `/graphql` path. Resolves once it listens; throws
 * (having released everything) when the options, the supergraph or the port are unusable.
 */
export async function createGateway(options: GatewayOptions): Promise<RunningGateway> {
  const resolved = resolveGatewayOptions(options);
  const runtime = createGatewayRuntime(createRuntimeConfig(resolved));
  let server: Server | undefined;
  let graphqlWs: { close(): Promise<void> } | undefined;
  try {
    await runtime.getSchema();
    server = resolved.tls
      ? createHttpsServer(
          {
            cert: readFileSync(resolved.tls.certFile),
            key: readFileSync(resolved.tls.keyFile),
            minVersion: 'TLSv1.3',
          },
          runtime,
        )
      : createHttpServer(runtime);
    graphqlWs = serveGraphqlWs(
      server,
      runtime,
      allowedOrigins(resolved.corsOrigins),
      resolved.maxRequestBytes,
    );
    const address = await listen(server, resolved.port, resolved.host);
    const secure = resolved.tls !== undefined;
    const authority = `${urlHost(resolved.host)}:${address.port}`;
    const [httpServer, webSockets] = [server, graphqlWs];
    let closing: Promise<void> | undefined;
    return {
      url: `${secure ? 'https' : 'http'}://${authority}${GRAPHQL_ENDPOINT}`,
      wsUrl: `${secure ? 'wss' : 'ws'}://${authority}${GRAPHQL_ENDPOINT}`,
      close() {
        closing ??= (async () => {
          await webSockets.close();
          await closeServer(httpServer);
          await runtime.dispose();
        })();
        return closing;
      },
    };
  } catch (error) {
    await graphqlWs?.close();
    if (server?.listening) await closeServer(server);
    await runtime.dispose();
    throw error;
  }
}
