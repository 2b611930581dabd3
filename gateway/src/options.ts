import { readFileSync } from 'node:fs';
import { DEFAULT_SUPERGRAPH_PATH } from '@courier/schema';
import { allowedOrigins } from './cors.ts';
import type { PinoLikeLogger } from './logger.ts';

import type { TlsFiles } from '@courier/config';

export type { TlsFiles } from '@courier/config';

/** Options of the Courier router; see {@link createGateway} and {@link createGatewayConfig}. */
export interface GatewayOptions {
  /**
   * The composed supergraph SDL. Takes precedence over {@link supergraphPath}.
   * @default read from {@link supergraphPath}
   */
  supergraphSdl?: string;
  /**
   * File holding the composed supergraph, read once at start-up.
   * @default the repository's `schema/supergraph.graphql`
   */
  supergraphPath?: string;
  /**
   * Where to reach subgraphs, by subgraph name, instead of the `@join__graph(url:)` written in
   * the supergraph. Names that are not in the supergraph are refused.
   * @default {} (the URLs of the supergraph)
   */
  subgraphUrls?: Partial<Record<string, string>>;
  /**
   * Shared secret sent to every subgraph: HTTP header `x-router-secret` (also on the WebSocket
   * upgrade) and graphql-ws `connectionParams.routerSecret`. At least 32 characters, no braces.
   */
  routerSecret: string;
  /**
   * Production hardening: no introspection, no GraphiQL or landing page, no field suggestions,
   * internal error text hidden, no subgraph names in errors.
   * @default false
   */
  production?: boolean;
  /**
   * Browser origins allowed by CORS (with credentials), besides Apollo Sandbox
   * (`https://studio.apollographql.com`). Other origins get no CORS headers.
   * @default []
   */
  corsOrigins?: readonly string[];
  /**
   * Interface to listen on.
   * @default '0.0.0.0'
   */
  host?: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 4000
   */
  port?: number;
  /**
   * Serve HTTPS and WSS (TLS 1.3 only) with these files.
   * @default undefined (plain HTTP and WS)
   */
  tls?: TlsFiles;
  /**
   * Deepest selection nesting accepted (introspection excluded).
   * @default 12
   */
  maxDepth?: number;
  /**
   * Most aliases accepted in one operation.
   * @default 15
   */
  maxAliases?: number;
  /**
   * Most lexical tokens accepted in one document.
   * @default 2000
   */
  maxTokens?: number;
  /**
   * Largest HTTP request body and WebSocket message, in bytes; bigger HTTP requests get 413.
   * @default 1_310_720 (1 MiB and 256 KiB headroom for base64 and JSON overhead)
   */
  maxRequestBytes?: number;
  /**
   * Hand graphql-ws operations that one subgraph answers alone (a device's sends,
   * acknowledgements and envelope stream among them) straight to that subgraph over a
   * WebSocket, instead of planning and executing them in Hive (see `SubgraphPassthrough`).
   * HTTP requests always go through Hive.
   * @default true
   */
  passthrough?: boolean;
  /**
   * Trunks (WebSockets carrying the passthrough lane's client connections, see `SubgraphTrunk`)
   * per lane subgraph; clients are spread over them in turn. Behind a load balancer each trunk
   * lands on some instance, so this is how many messages instances one gateway's clients can
   * spread over; each extra trunk splits the batching of a burst once more.
   * @default 2
   */
  trunksPerSubgraph?: number;
  /**
   * How long a readiness probe waits for each subgraph, in milliseconds.
   * @default 2000
   */
  readinessTimeoutMs?: number;
  /**
   * Whether a load balancer in front of the gateway sets `X-Forwarded-For`: client pseudonyms
   * (see `ClientKeys`) then come from its first address instead of the socket's peer.
   * @default false
   */
  trustProxy?: boolean;
  /**
   * How long `close()` lets in-flight HTTP requests (SSE streams included) finish before it cuts
   * them, in milliseconds.
   * @default 10000
   */
  shutdownGraceMs?: number;
  /**
   * Bearer token Prometheus presents to scrape `/metrics` (`Authorization: Bearer <token>`);
   * the router secret header (`x-router-secret`) opens it too. At least 32 characters.
   * @default undefined (only the router secret opens `/metrics`)
   */
  metricsToken?: string;
  /**
   * More Prometheus registries to serve on the gateway's `/metrics` (embedded mode: the
   * subgraphs' process registry, so that one scrape sees everything). The gateway then leaves
   * process metrics to them.
   * @default []
   */
  extraMetrics?: readonly MetricsSource[];
  /**
   * A live configuration file (JSON: `corsOrigins`, `logLevel`), applied at start and on every
   * change without a restart; its `corsOrigins` replace {@link corsOrigins}.
   * @default undefined
   */
  liveConfigFile?: string;
  /**
   * A pino (or pino-compatible) logger the gateway writes to.
   * @default Hive Gateway's console logger at level `info`
   */
  logger?: PinoLikeLogger;
}

/** A Prometheus registry (prom-client `Registry`) whose text exposition the gateway serves. */
export interface MetricsSource {
  metrics(): Promise<string>;
}

/** The defaults of {@link GatewayOptions}. */
export const GATEWAY_DEFAULTS = {
  production: false,
  host: '0.0.0.0',
  port: 4000,
  maxDepth: 12,
  maxAliases: 15,
  maxTokens: 2000,
  maxRequestBytes: 1_310_720,
  readinessTimeoutMs: 2000,
  shutdownGraceMs: 10_000,
  trustProxy: false,
  passthrough: true,
  trunksPerSubgraph: 2,
} as const;

/** Most trunks a gateway keeps per lane subgraph. */
export const MAX_TRUNKS_PER_SUBGRAPH = 64;

/** Origin of Apollo Sandbox / Apollo Studio Explorer, always allowed by CORS. */
export const APOLLO_STUDIO_ORIGIN = 'https://studio.apollographql.com';

/** {@link GatewayOptions} with every default applied and the supergraph read. */
export interface ResolvedGatewayOptions extends Required<
  Omit<
    GatewayOptions,
    | 'supergraphPath'
    | 'tls'
    | 'logger'
    | 'subgraphUrls'
    | 'metricsToken'
    | 'extraMetrics'
    | 'liveConfigFile'
  >
> {
  metricsToken: string | undefined;
  extraMetrics: readonly MetricsSource[];
  subgraphUrls: Readonly<Record<string, string>>;
  /**
   * The origins CORS and WebSocket upgrades allow (Apollo Sandbox and `corsOrigins`), one set
   * that the live configuration updates in place.
   */
  allowedOrigins: Set<string>;
  liveConfigFile: string | undefined;
  tls: TlsFiles | undefined;
  logger: PinoLikeLogger | undefined;
}

/** Applies defaults, reads the supergraph and checks the options; throws on invalid ones. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  if (options.routerSecret.length < 32)
    throw new Error('routerSecret must be at least 32 characters');
  if (/[{}]/.test(options.routerSecret)) throw new Error('routerSecret must not contain { or }');
  const subgraphUrls: Record<string, string> = {};
  for (const [name, url] of Object.entries(options.subgraphUrls ?? {})) {
    if (url !== undefined) subgraphUrls[name] = url;
  }
  const resolved: ResolvedGatewayOptions = {
    ...GATEWAY_DEFAULTS,
    ...withoutUndefined(options),
    routerSecret: options.routerSecret,
    supergraphSdl:
      options.supergraphSdl ??
      readFileSync(options.supergraphPath ?? DEFAULT_SUPERGRAPH_PATH, 'utf8'),
    subgraphUrls,
    corsOrigins: [...(options.corsOrigins ?? [])],
    allowedOrigins: new Set(allowedOrigins(options.corsOrigins ?? [])),
    liveConfigFile: options.liveConfigFile,
    tls: options.tls,
    logger: options.logger,
    metricsToken: options.metricsToken,
    extraMetrics: options.extraMetrics ?? [],
  };
  for (const key of [
    'maxDepth',
    'maxAliases',
    'maxTokens',
    'maxRequestBytes',
    'trunksPerSubgraph',
  ] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) {
      throw new Error(`${key} must be a positive integer`);
    }
  }
  if (resolved.trunksPerSubgraph > MAX_TRUNKS_PER_SUBGRAPH) {
    throw new Error(`trunksPerSubgraph must be at most ${MAX_TRUNKS_PER_SUBGRAPH}`);
  }
  return resolved;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
