import { TokenService } from '@courier/auth';
import { createBus, type Bus } from '@courier/bus';
import {
  authEnv,
  commonEnv,
  ConfigError,
  databaseEnv,
  loadOrExit,
  metricsEnv,
  parseEnv,
  port,
  redisEnv,
  routerSecretEnv,
  drainOnSignals,
  LiveConfigFile,
  tlsEnv,
  type TlsFiles,
  type LiveConfig,
  z,
} from '@courier/config';
import { createPrismaClient, databasePoolStats, type PrismaClient } from '@courier/db';
import {
  createRateLimits,
  type BucketName,
  type BucketOverride,
  type RateLimits,
} from '@courier/limits';
import { createLogger, type Logger } from '@courier/logging';
import { SUBGRAPH_PORTS, type SubgraphName } from '@courier/schema';
import type { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { Redis } from 'ioredis';
import { RedisBlockListVersions, type BlockListVersions } from './block-list-versions.ts';
import type { BaseContext } from './context.ts';
import { DeviceCredentials } from './credentials.ts';
import { observeDatabasePool, observeRedis, rateLimitRejections } from './metrics.ts';
import { shutdownTracing, startTracing, tracingEnabled, tracingStarted } from './tracing.ts';
import type { SubgraphServer, SubgraphServerOptions } from './subgraph-server.ts';
import { loadZkServerSecretParams } from './zk-params.ts';

/** Everything a process hosting one or more subgraphs shares between them. */
export interface SubgraphRuntime {
  readonly prisma: PrismaClient;
  readonly bus: Bus;
  readonly limits: RateLimits;
  readonly tokens: TokenService;
  /** Whether access tokens' device credentials are still current (revocation). */
  readonly credentials: DeviceCredentials;
  readonly logger: Logger;
  readonly routerSecret: string;
  readonly production: boolean;
  /** Bearer token that opens `/metrics` besides the router secret (`METRICS_TOKEN`). */
  readonly metricsToken: string | undefined;
  /**
   * The deployment's zkgroup server secret params, one object for every subgraph of the
   * process: accounts issues profile key credentials with them, groups auth credentials and
   * group send endorsements, messages and keys verify group send tokens.
   */
  readonly zkSecretParams: ServerSecretParams;
  /** Certificate files when the process serves HTTPS (`TLS_CERT_FILE`, `TLS_KEY_FILE`). */
  readonly tls: TlsFiles | undefined;
  /** The live configuration file, when one is configured (`LIVE_CONFIG_FILE`). */
  readonly liveConfig: LiveConfigFile | undefined;
  /**
   * Block-list version tokens in Redis (accounts renews them, keys' and messages'
   * `AccountsClient`s cache block lists under them); undefined without Redis, where block checks
   * ask accounts every time (processes without Redis cannot share tokens).
   */
  readonly blockListVersions: BlockListVersions | undefined;
  /** True when the database answers. */
  isReady(): Promise<boolean>;
  /** Releases the database pool and Redis connections. */
  close(): Promise<void>;
}

/** The options every subgraph server takes from its runtime; add `buildContext`. */
export function serverOptionsFrom(
  runtime: SubgraphRuntime,
  subgraph: string,
): Omit<SubgraphServerOptions<BaseContext>, 'buildContext'> {
  return {
    routerSecret: runtime.routerSecret,
    tokens: runtime.tokens,
    credentials: runtime.credentials,
    logger: runtime.logger.child({ subgraph }),
    production: runtime.production,
    isReady: () => runtime.isReady(),
    metricsToken: runtime.metricsToken,
    tls: runtime.tls,
  };
}

/** Settings for {@link createSubgraphRuntime}. */
export interface SubgraphRuntimeSettings {
  readonly databaseUrl: string;
  /** Unset: in-process bus and memory rate limits (single node only). */
  readonly redisUrl?: string | undefined;
  /** @default 'courier:' */
  readonly redisPrefix?: string;
  readonly routerSecret: string;
  readonly tokenSecret: string;
  /** Earlier token signing keys, verify only (`TOKEN_SECRETS_PREVIOUS`, key rotation). */
  readonly previousTokenSecrets?: readonly string[];
  /** @default 3600 */
  readonly accessTokenTtlSeconds?: number;
  readonly production: boolean;
  /** @default 'info' */
  readonly logLevel?: string;
  /**
   * A live configuration file (JSON: `logLevel`, `rateLimits`): applied at start and on every
   * change without a restart (see `LiveConfigFile`).
   */
  readonly liveConfigFile?: string | undefined;
  /** Serve HTTPS/WSS (TLS 1.3) with these files, reloaded when they change. */
  readonly tls?: TlsFiles | undefined;
  /** Logger to use instead of creating one. */
  readonly logger?: Logger;
  /**
   * The accounts subgraph's URL, for processes that do not host accounts: where device
   * credentials are looked up when no cached copy has them.
   */
  readonly accountsUrl?: string | (() => string) | undefined;
  /** Clock of token issue and expiry checks (tests move it). @default Date.now */
  readonly clock?: () => number;
  /**
   * zkgroup server secret params. Give every runtime of a deployment the same object or value.
   * @default `ZK_SERVER_SECRET_PARAMS`, or outside production fresh params for this process
   * (see {@link loadZkServerSecretParams})
   */
  readonly zkSecretParams?: ServerSecretParams;
  /** Opens `/metrics` as `Authorization: Bearer <token>`. @default router secret only */
  readonly metricsToken?: string | undefined;
}

/**
 * How a subgraph process applies its live configuration: rate-limit overrides replace the
 * previous ones (all or nothing), and the log level returns to `startLevel` when the file drops it.
 */
function liveConfigApplier(limits: RateLimits, logger: Logger, startLevel: string) {
  return (config: LiveConfig) => {
    limits.setOverrides((config.rateLimits ?? {}) as Partial<Record<BucketName, BucketOverride>>);
    logger.level = config.logLevel ?? startLevel;
  };
}

/** Opens the database pool, the bus and the rate limiter a subgraph process needs. */
export async function createSubgraphRuntime(
  settings: SubgraphRuntimeSettings,
): Promise<SubgraphRuntime> {
  const logger =
    settings.logger ?? createLogger({ name: 'courier', level: settings.logLevel ?? 'info' });
  const prefix = settings.redisPrefix ?? 'courier:';
  const zkSecretParams =
    settings.zkSecretParams ??
    loadZkServerSecretParams({ production: settings.production, logger });
  const prisma = createPrismaClient(settings.databaseUrl);
  const bus = createBus({ redisUrl: settings.redisUrl, channelPrefix: prefix });
  const redis = settings.redisUrl
    ? new Redis(settings.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 })
    : undefined;
  const limits = createRateLimits({
    redis,
    keyPrefix: `${prefix}limits:`,
    onRejected: (bucket) => rateLimitRejections.inc({ bucket }),
  });
  const unobserve = [
    observeDatabasePool(() => databasePoolStats(prisma)),
    ...(redis ? [observeRedis(redis)] : []),
  ];
  const liveConfig = settings.liveConfigFile
    ? new LiveConfigFile(
        settings.liveConfigFile,
        liveConfigApplier(limits, logger, logger.level),
        logger,
      )
    : undefined;
  await liveConfig?.start();
  const credentials = new DeviceCredentials({
    bus,
    redis,
    prefix,
    accountsUrl: settings.accountsUrl,
    routerSecret: settings.routerSecret,
  });
  await credentials.start();
  const tokens = new TokenService({
    secret: settings.tokenSecret,
    previousSecrets: settings.previousTokenSecrets ?? [],
    ttlSeconds: settings.accessTokenTtlSeconds ?? 3600,
    ...(settings.clock ? { now: settings.clock } : {}),
  });
  return {
    prisma,
    bus,
    limits,
    tokens,
    credentials,
    logger,
    routerSecret: settings.routerSecret,
    production: settings.production,
    metricsToken: settings.metricsToken,
    zkSecretParams,
    liveConfig,
    tls: settings.tls,
    blockListVersions: redis ? new RedisBlockListVersions(redis, prefix) : undefined,
    async isReady() {
      try {
        await prisma.$queryRaw`SELECT 1`;
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      liveConfig?.close();
      for (const stop of unobserve) stop();
      await credentials.close();
      await bus.close();
      await redis?.quit();
      await prisma.$disconnect();
    },
  };
}

/**
 * Where a subgraph process finds the other subgraphs' internal APIs (`/internal`), by default
 * their stand-alone ports on this host. One declaration for every process that calls them.
 */
export const internalApiEnv = z.object({
  ACCOUNTS_INTERNAL_URL: z.url().default(`http://127.0.0.1:${SUBGRAPH_PORTS.accounts}`),
  KEYS_INTERNAL_URL: z.url().default(`http://127.0.0.1:${SUBGRAPH_PORTS.keys}`),
  ATTACHMENTS_INTERNAL_URL: z.url().default(`http://127.0.0.1:${SUBGRAPH_PORTS.attachments}`),
});

/** Environment of a subgraph process. */
export const subgraphEnv = commonEnv
  .extend(routerSecretEnv.shape)
  .extend(databaseEnv.shape)
  .extend(redisEnv.shape)
  .extend(authEnv.shape)
  .extend(tlsEnv.shape)
  .extend({
    PORT: port.optional(),
    HOST: z.string().min(1).default('127.0.0.1'),
    /** Where non-accounts processes look up device credentials (cache misses). */
    ACCOUNTS_INTERNAL_URL: internalApiEnv.shape.ACCOUNTS_INTERNAL_URL,
    ...metricsEnv.shape,
  });

/**
 * Entry point of a stand-alone subgraph process (`subgraphs/<name>/src/index.ts`): reads and
 * validates the environment, builds the runtime and server, listens, and stops gracefully on
 * SIGINT/SIGTERM (see `drainOnSignals`, `SubgraphServer.drain` and `SubgraphServer.close`).
 * It listens on `PORT`, or the subgraph's port in `SUBGRAPH_PORTS`.
 */
export async function runSubgraph(
  name: SubgraphName,
  create: (runtime: SubgraphRuntime) => SubgraphServer,
): Promise<void> {
  const env = loadOrExit(() => {
    const parsed = parseEnv(subgraphEnv);
    if ((parsed.TLS_CERT_FILE === undefined) !== (parsed.TLS_KEY_FILE === undefined)) {
      throw new ConfigError('Invalid configuration', [
        'TLS_CERT_FILE: set both TLS_CERT_FILE and TLS_KEY_FILE, or neither',
      ]);
    }
    return parsed;
  });
  const runtime = await createSubgraphRuntime({
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_CHANNEL_PREFIX,
    routerSecret: env.ROUTER_SECRET,
    tokenSecret: env.TOKEN_SECRET,
    previousTokenSecrets: env.TOKEN_SECRETS_PREVIOUS,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    production: env.NODE_ENV === 'production',
    logLevel: env.LOG_LEVEL,
    liveConfigFile: env.LIVE_CONFIG_FILE,
    tls:
      env.TLS_CERT_FILE && env.TLS_KEY_FILE
        ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE }
        : undefined,
    accountsUrl: env.ACCOUNTS_INTERNAL_URL,
    metricsToken: env.METRICS_TOKEN,
  });
  if (!env.REDIS_URL) {
    runtime.logger.warn({ subgraph: name }, 'REDIS_URL unset: single-instance mode');
  }
  if (tracingEnabled() && !tracingStarted()) {
    await startTracing({ serviceName: `courier-${name}` });
    runtime.logger.warn(
      { subgraph: name },
      'tracing started late: run with --import @courier/server/tracing-preload for HTTP spans',
    );
  }
  const server = create(runtime);
  const url = await server.listen(env.PORT ?? SUBGRAPH_PORTS[name], env.HOST);
  runtime.logger.info({ subgraph: name, url }, 'subgraph listening');
  drainOnSignals(runtime.logger, server, {
    drainDelayMs: env.SHUTDOWN_DRAIN_DELAY_MS,
    timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    after: async () => {
      await runtime.close();
      await shutdownTracing();
    },
  });
}
