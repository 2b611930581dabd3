import { TokenService } from '@courier/auth';
import { createBus, type Bus } from '@courier/bus';
import {
  authEnv,
  commonEnv,
  databaseEnv,
  loadOrExit,
  parseEnv,
  port,
  redisEnv,
  routerSecretEnv,
  z,
} from '@courier/config';
import { createPrismaClient, type PrismaClient } from '@courier/db';
import { createRateLimits, type RateLimits } from '@courier/limits';
import { createLogger, type Logger } from '@courier/logging';
import { Redis } from 'ioredis';
import type { BaseContext } from './context.ts';
import { DeviceCredentials } from './credentials.ts';
import type { SubgraphServer, SubgraphServerOptions } from './subgraph-server.ts';

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
  /** @default 3600 */
  readonly accessTokenTtlSeconds?: number;
  readonly production: boolean;
  /** @default 'info' */
  readonly logLevel?: string;
  /** Logger to use instead of creating one. */
  readonly logger?: Logger;
  /**
   * The accounts subgraph's URL, for processes that do not host accounts: where device
   * credentials are looked up when no cached copy has them.
   */
  readonly accountsUrl?: string | (() => string) | undefined;
  /** Clock of token issue and expiry checks (tests move it). @default Date.now */
  readonly clock?: () => number;
}

/** Opens the database pool, the bus and the rate limiter a subgraph process needs. */
export async function createSubgraphRuntime(
  settings: SubgraphRuntimeSettings,
): Promise<SubgraphRuntime> {
  const logger =
    settings.logger ?? createLogger({ name: 'courier', level: settings.logLevel ?? 'info' });
  const prefix = settings.redisPrefix ?? 'courier:';
  const prisma = createPrismaClient(settings.databaseUrl);
  const bus = createBus({ redisUrl: settings.redisUrl, channelPrefix: prefix });
  const redis = settings.redisUrl
    ? new Redis(settings.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 })
    : undefined;
  const limits = createRateLimits({ redis, keyPrefix: `${prefix}limits:` });
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
    async isReady() {
      try {
        await prisma.$queryRaw`SELECT 1`;
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await credentials.close();
      await bus.close();
      await redis?.quit();
      await prisma.$disconnect();
    },
  };
}

/** Environment of a subgraph process. */
export const subgraphEnv = commonEnv
  .extend(routerSecretEnv.shape)
  .extend(databaseEnv.shape)
  .extend(redisEnv.shape)
  .extend(authEnv.shape)
  .extend({
    PORT: port.optional(),
    HOST: z.string().min(1).default('127.0.0.1'),
    /** Where non-accounts processes look up device credentials (cache misses). */
    ACCOUNTS_INTERNAL_URL: z.url().optional(),
  });

/**
 * Entry point of a stand-alone subgraph process (`subgraphs/<name>/src/index.ts`): reads and
 * validates the environment, builds the runtime and server, listens, and shuts down cleanly on
 * SIGINT/SIGTERM.
 */
export async function runSubgraph(
  name: string,
  defaultPort: number,
  create: (runtime: SubgraphRuntime) => SubgraphServer,
): Promise<void> {
  const env = loadOrExit(() => parseEnv(subgraphEnv));
  const runtime = await createSubgraphRuntime({
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_CHANNEL_PREFIX,
    routerSecret: env.ROUTER_SECRET,
    tokenSecret: env.TOKEN_SECRET,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    production: env.NODE_ENV === 'production',
    logLevel: env.LOG_LEVEL,
    accountsUrl: env.ACCOUNTS_INTERNAL_URL,
  });
  if (!env.REDIS_URL) {
    runtime.logger.warn({ subgraph: name }, 'REDIS_URL unset: single-instance mode');
  }
  const server = create(runtime);
  const url = await server.listen(env.PORT ?? defaultPort, env.HOST);
  runtime.logger.info({ subgraph: name, url }, 'subgraph listening');
  const shutdown = async () => {
    await server.close();
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
