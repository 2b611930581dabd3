import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { TokenService } from '@courier/auth';
import { ErrorCode, formatCourierError } from '@courier/errors';
import { reloadTlsOnChange, secretMatcher, tlsServerOptions, type TlsFiles } from '@courier/config';
import type { Logger } from '@courier/logging';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  getOperationAST,
  type DocumentNode,
  type GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { IRules } from 'graphql-shield';
import { applyMiddleware } from 'graphql-middleware';
import { makeServer, type ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { clientKeyFrom, type BaseContext } from './context.ts';
import {
  CLIENT_KEY_CONNECTION_PARAM,
  CLIENT_KEY_HEADER,
  ROUTER_SECRET_CONNECTION_PARAM,
  ROUTER_SECRET_HEADER,
  TRUNK_PATH,
  TRUNK_PROTOCOL,
  trunkMaxPayload,
} from '@courier/schema';
import type { DeviceCredentials } from './credentials.ts';
import {
  errorCodeLabel,
  metricsPlugin,
  metricsRoute,
  operationLabel,
  operationErrors,
  operationsTotal,
  subscriptionsOpen,
} from './metrics.ts';
import { buildPermissions } from './permissions.ts';
import { serveTrunks, type GraphqlWsExtra, type GraphqlWsSocket } from './trunk-server.ts';
import { documentCache } from './document-cache.ts';
import { compiledExecution } from './compiled-execution.ts';
import {
  DEFAULT_SUBGRAPH_MAX_BODY_BYTES,
  guardEntityRepresentations,
  jsonBodyErrorHandler,
  refuseHttpSubscriptions,
} from './request-guards.ts';

/** What a subgraph is: its SDL, resolvers and permission rules. */
export interface SubgraphDefinition<TContext extends BaseContext> {
  /** Subgraph name as in the supergraph (`accounts`, `keys`, ...). */
  readonly name: string;
  /** Parsed `schema.graphql`. */
  readonly typeDefs: DocumentNode;
  readonly resolvers: GraphQLResolverMap<TContext>;
  /** graphql-shield rule tree; fields without a rule are denied. */
  readonly permissions: IRules;
  /**
   * Serve graphql-ws on the HTTP server (subgraphs that own subscriptions).
   * @default false
   */
  readonly subscriptions?: boolean;
}

/** What a running subgraph needs from its host process. */
export interface SubgraphServerOptions<TContext extends BaseContext> {
  /** Shared secret the gateway presents; requests without it are refused. */
  readonly routerSecret: string;
  readonly tokens: TokenService;
  /** Revocation: a token whose device credentials changed or went is refused. */
  readonly credentials: DeviceCredentials;
  readonly logger: Logger;
  /** Hides internal error text and disables introspection. */
  readonly production: boolean;
  /** Adds the subgraph's services to the base context. */
  readonly buildContext: (base: BaseContext) => TContext;
  /**
   * Serve HTTPS and WSS (TLS 1.3 only) with these files, reloading them when they change.
   * @default plain HTTP
   */
  readonly tls?: TlsFiles | undefined;
  /**
   * How long `close()` lets in-flight HTTP requests finish before cutting them.
   * @default 10000
   */
  readonly shutdownGraceMs?: number;
  /** Readiness probe (database reachable, ...). @default always ready */
  readonly isReady?: () => Promise<boolean>;
  /**
   * Largest accepted request body in bytes (keep it above the gateway's request limit).
   * @default DEFAULT_SUBGRAPH_MAX_BODY_BYTES (4 MiB)
   */
  readonly maxBodyBytes?: number;
  /** Express routes mounted before GraphQL (e.g. attachment upload/download, public). */
  readonly extraRoutes?: (app: express.Express) => void;
  /**
   * The subgraph's internal API for other subgraphs (JSON, under `/internal`, behind the router
   * secret like GraphQL). Used where an owner must do work for another subgraph synchronously.
   */
  readonly internalRoutes?: (router: express.Router) => void;
  /**
   * Housekeeping run on a timer while the server listens (purging expired rows, ...). Every
   * instance runs them; they must be idempotent and cheap when there is nothing to do.
   */
  readonly maintenance?: readonly MaintenanceTask[];
  /** Called after the HTTP server closed (release pools, buses). */
  readonly onClose?: () => Promise<void>;
  /**
   * Bearer token that opens `/metrics` for Prometheus (`METRICS_TOKEN`); the router secret
   * header opens it too. @default undefined (router secret only)
   */
  readonly metricsToken?: string | undefined;
}

/** A periodic housekeeping task of a subgraph. */
export interface MaintenanceTask {
  readonly name: string;
  readonly intervalMs: number;
  /** Resolves with how many items it removed (logged at debug). */
  readonly run: () => Promise<number | void>;
}

/** A subgraph's HTTP (+ graphql-ws) server. */
export interface SubgraphServer {
  readonly name: string;
  readonly schema: GraphQLSchema;
  /** Starts listening; returns the GraphQL URL. Port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<string>;
  /** The GraphQL URL once listening. */
  readonly url: string;
  /**
   * First step of a graceful stop: `/readiness` answers 503 from now on, so load balancers take
   * the instance out, while it still serves everything. Idempotent.
   */
  drain(): void;
  /**
   * Graceful stop (idempotent): `/readiness` answers 503 at once, no new connection is accepted,
   * graphql-ws clients are told to go elsewhere (close 1001, "Going away"; their streams end and
   * they reconnect to another instance, which drains what is stored), in-flight HTTP requests
   * finish within `shutdownGraceMs`, then timers stop and `onClose` runs.
   */
  close(): Promise<void>;
}

function unauthenticatedRouterResponse(res: Response): void {
  res.status(401).json({
    errors: [
      {
        message: 'Requests must come through the gateway',
        extensions: { code: ErrorCode.UNAUTHENTICATED },
      },
    ],
  });
}

/**
 * WebSocket close code for a socket whose credentials were refused or revoked (graphql-ws's
 * `Unauthorized`, which clients do not retry).
 */
export const CLOSE_CODE_REVOKED = 4401;

/**
 * Builds a Federation 2 subgraph server: Apollo Server on Express with graphql-shield
 * permissions, the router-secret guard on every GraphQL request (HTTP and graphql-ws), `/health`
 * and `/readiness` probes, error formatting to the closed code set, and optional graphql-ws.
 */
export function createSubgraphServer<TContext extends BaseContext>(
  definition: SubgraphDefinition<TContext>,
  options: SubgraphServerOptions<TContext>,
): SubgraphServer {
  const subgraphSchema = buildSubgraphSchema({
    typeDefs: definition.typeDefs,
    resolvers: definition.resolvers as GraphQLResolverMap<unknown>,
  });
  guardEntityRepresentations(subgraphSchema);
  const schema = applyMiddleware(
    subgraphSchema,
    buildPermissions(definition.permissions, subgraphSchema),
  );
  const logger = options.logger;
  const authenticate = async (authorization: string | undefined): Promise<BaseContext['auth']> => {
    const auth = await options.tokens.verifyAuthorization(authorization);
    if (auth.kind !== 'device' || (await options.credentials.isCurrent(auth.device))) return auth;
    return { kind: 'rejected', reason: 'revoked' };
  };
  const routerSecretMatches = secretMatcher(options.routerSecret);
  const socketsByDevice = new Map<string, Set<GraphqlWsSocket>>();
  const stopWatchingRevocations = options.credentials.onRevoked((aci, deviceId) => {
    for (const socket of socketsByDevice.get(`${aci}:${deviceId}`) ?? []) {
      socket.close(CLOSE_CODE_REVOKED, 'Device credentials revoked');
    }
  });
  const app = express();
  app.disable('x-powered-by');
  const httpsServer: HttpsServer | undefined = options.tls
    ? createHttpsServer(tlsServerOptions(options.tls), app)
    : undefined;
  // The https server is an http server for Apollo's drain plugin and graphql-ws alike.
  const httpServer: Server = (httpsServer as unknown as Server | undefined) ?? createServer(app);
  const tlsReload =
    httpsServer && options.tls ? reloadTlsOnChange(httpsServer, options.tls, logger) : undefined;
  let url = '';

  /** Formats an error to the closed code set, logging unexpected ones (HTTP and graphql-ws). */
  const formatCourierErrorAndLog = (formatted: GraphQLFormattedError, error: unknown) => {
    const result = formatCourierError(formatted, { production: options.production });
    if (result.extensions?.['code'] === ErrorCode.INTERNAL) {
      logger.error({ err: error, path: formatted.path }, 'unexpected error in resolver');
    }
    return result;
  };
  const formatError = (error: GraphQLError) => formatCourierErrorAndLog(error.toJSON(), error);
  const openSubscriptions = new WeakMap<object, Set<string>>();
  const closeSubscription = (ctx: object, id: string) => {
    if (openSubscriptions.get(ctx)?.delete(id))
      subscriptionsOpen.dec({ subgraph: definition.name });
  };
  const graphqlWsOptions: ServerOptions<
    Record<string, unknown>,
    GraphqlWsExtra & { auth?: BaseContext['auth'] }
  > = {
    schema,
    ...documentCache(),
    ...compiledExecution(),
    onConnect: async (ctx) => {
      const params = ctx.connectionParams ?? {};
      const presented =
        params[ROUTER_SECRET_CONNECTION_PARAM] ?? ctx.extra.request.headers[ROUTER_SECRET_HEADER];
      // Refusals close with 4401, which graphql-ws clients (the gateway's among them)
      // do not retry; its default 4403 would make the gateway reconnect again and again.
      const refuse = (reason: string) => {
        ctx.extra.socket.close(CLOSE_CODE_REVOKED, reason);
        return false;
      };
      if (!routerSecretMatches(presented)) {
        return refuse('Requests must come through the gateway');
      }
      const authorization = params['authorization'];
      const auth = await authenticate(
        typeof authorization === 'string' ? authorization : undefined,
      );
      if (auth.kind === 'rejected') return refuse('Unauthorized');
      ctx.extra.auth = auth;
      if (auth.kind === 'device') {
        const key = `${auth.device.aci}:${auth.device.deviceId}`;
        const sockets = socketsByDevice.get(key) ?? new Set<GraphqlWsSocket>();
        sockets.add(ctx.extra.socket);
        socketsByDevice.set(key, sockets);
        ctx.extra.socket.once('close', () => {
          sockets.delete(ctx.extra.socket);
          if (sockets.size === 0) socketsByDevice.delete(key);
        });
      }
      return true;
    },
    context: (ctx) =>
      options.buildContext({
        auth: ctx.extra.auth ?? { kind: 'anonymous' },
        logger,
        client: clientKeyFrom(ctx.connectionParams?.[CLIENT_KEY_CONNECTION_PARAM]),
      }),
    onOperation: (ctx, id, _payload, args, result) => {
      const operation = getOperationAST(args.document, args.operationName);
      operationsTotal.inc({
        subgraph: definition.name,
        operation_type: operation?.operation ?? 'unknown',
        operation: operationLabel(operation, args.document),
      });
      if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
        const open = openSubscriptions.get(ctx) ?? new Set<string>();
        openSubscriptions.set(ctx, open);
        if (!open.has(id)) subscriptionsOpen.inc({ subgraph: definition.name });
        open.add(id);
      }
    },
    onNext: (_ctx, _id, _payload, _args, result) =>
      result.errors ? { ...result, errors: result.errors.map(formatError) } : undefined,
    onError: (_ctx, _id, _payload, errors) => {
      for (const error of errors) {
        operationErrors.inc({
          subgraph: definition.name,
          operation_type: 'unknown',
          operation: 'unknown',
          code: errorCodeLabel(error.extensions?.['code']),
        });
      }
      // graphql-ws only serialises what this returns, so formatted errors do.
      return errors.map(formatError) as unknown as GraphQLError[];
    },
    onComplete: (ctx, id) => closeSubscription(ctx, id),
    onClose: (ctx) => {
      for (const id of openSubscriptions.get(ctx) ?? []) closeSubscription(ctx, id);
    },
  };
  const webSockets = definition.subscriptions
    ? serveWebSockets(httpServer, graphqlWsOptions, routerSecretMatches, {
        subgraph: definition.name,
        logger,
        maxFrameBytes: options.maxBodyBytes ?? DEFAULT_SUBGRAPH_MAX_BODY_BYTES,
      })
    : undefined;

  const drainWebSockets: ApolloServerPlugin = {
    async serverWillStart() {
      return {
        async drainServer() {
          await webSockets?.dispose();
        },
      };
    },
  };

  const apollo = new ApolloServer<TContext>({
    schema,
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatCourierErrorAndLog(formatted, error),
    plugins: [
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: options.shutdownGraceMs ?? 10_000,
      }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      metricsPlugin(definition.name),
      refuseHttpSubscriptions,
      drainWebSockets,
    ],
  });

  const requireRouterSecret = (req: Request, res: Response, next: NextFunction) => {
    if (routerSecretMatches(req.headers[ROUTER_SECRET_HEADER])) next();
    else unauthenticatedRouterResponse(res);
  };

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  let draining = false;
  app.get('/readiness', async (_req, res) => {
    const ready = !draining && ((await options.isReady?.().catch(() => false)) ?? true);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });
  app.get(
    '/metrics',
    metricsRoute({ routerSecret: options.routerSecret, metricsToken: options.metricsToken }),
  );
  options.extraRoutes?.(app);
  if (options.internalRoutes) {
    const internal = express.Router();
    internal.use(
      requireRouterSecret,
      express.json({ limit: options.maxBodyBytes ?? DEFAULT_SUBGRAPH_MAX_BODY_BYTES }),
    );
    options.internalRoutes(internal);
    internal.use(jsonBodyErrorHandler);
    app.use('/internal', internal);
  }

  const timers: NodeJS.Timeout[] = [];
  const startMaintenance = () => {
    for (const task of options.maintenance ?? []) {
      const timer = setInterval(() => {
        task.run().then(
          (removed) => logger.debug({ task: task.name, removed }, 'maintenance done'),
          (error: unknown) => logger.error({ err: error, task: task.name }, 'maintenance failed'),
        );
      }, task.intervalMs);
      timer.unref();
      timers.push(timer);
    }
  };
  let started: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  return {
    name: definition.name,
    schema,
    get url() {
      return url;
    },
    async listen(port = 0, host = '127.0.0.1') {
      started ??= apollo.start();
      await started;
      app.use(
        '/graphql',
        requireRouterSecret,
        express.json({ limit: options.maxBodyBytes ?? DEFAULT_SUBGRAPH_MAX_BODY_BYTES }),
        expressMiddleware(apollo, {
          context: async ({ req }) =>
            options.buildContext({
              auth: await authenticate(req.headers.authorization),
              logger,
              client: clientKeyFrom(req.headers[CLIENT_KEY_HEADER]),
            }),
        }),
        jsonBodyErrorHandler,
      );
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const address = httpServer.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `${httpsServer ? 'https' : 'http'}://${shownHost}:${address.port}/graphql`;
      startMaintenance();
      logger.debug({ url }, 'subgraph listening');
      return url;
    },
    drain() {
      draining = true;
    },
    close() {
      draining = true;
      closing ??= (async () => {
        stopWatchingRevocations();
        tlsReload?.close();
        for (const timer of timers.splice(0)) clearInterval(timer);
        if (started) await apollo.stop();
        else if (httpServer.listening) await new Promise((r) => httpServer.close(r));
        await options.onClose?.();
      })();
      return closing;
    },
  };
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * graphql-ws for a subgraph that owns subscriptions, on two upgrade paths of `httpServer`:
 * `/graphql`, a socket per client (Hive Gateway's subscriptions, tools), and the trunk
 * (`TRUNK_PATH`, see `@courier/schema`), where the gateway's passthrough lane carries many
 * clients' connections over one socket. Both are served by the same graphql-ws hooks; a trunk
 * upgrade must present the router secret header.
 */
function serveWebSockets(
  httpServer: Server,
  graphqlWsOptions: ServerOptions<Record<string, unknown>, GraphqlWsExtra>,
  routerSecretMatches: (presented: unknown) => boolean,
  options: { readonly subgraph: string; readonly logger: Logger; readonly maxFrameBytes: number },
): { dispose(): Promise<void> } {
  const { maxFrameBytes } = options;
  const sockets = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes });
  const trunkSockets = new WebSocketServer({
    noServer: true,
    maxPayload: trunkMaxPayload(maxFrameBytes),
    handleProtocols: (protocols) => (protocols.has(TRUNK_PROTOCOL) ? TRUNK_PROTOCOL : false),
  });
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/graphql') {
      sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req));
    } else if (path !== TRUNK_PATH) {
      refuseUpgrade(socket, '404 Not Found');
    } else if (!routerSecretMatches(req.headers[ROUTER_SECRET_HEADER])) {
      refuseUpgrade(socket, '401 Unauthorized');
    } else {
      trunkSockets.handleUpgrade(req, socket, head, (ws) =>
        trunkSockets.emit('connection', ws, req),
      );
    }
  });
  const perSocket = useServer(graphqlWsOptions, sockets);
  const trunks = serveTrunks(trunkSockets, makeServer(graphqlWsOptions), options);
  return {
    async dispose() {
      await Promise.all([perSocket.dispose(), trunks.dispose()]);
    },
  };
}
