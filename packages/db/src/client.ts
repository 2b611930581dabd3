import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

import { PrismaClient } from './generated/client.ts';
import { parseDatabaseUrl } from './url.ts';

/** Options of {@link createPrismaClient}. */
export interface PrismaClientOptions {
  /**
   * Maximum number of pooled connections. Defaults to the URL's `connection_limit` parameter, else
   * pg's default (10).
   */
  readonly poolSize?: number;
}

/** Connection counts of a client's pool (node-postgres `Pool` fields). */
export interface DatabasePoolStats {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

const pools = new WeakMap<PrismaClient, pg.Pool>();

/**
 * Creates a Prisma client on `databaseUrl` through `@prisma/adapter-pg` (Prisma 7 has no built-in
 * driver). The URL is parsed into a pg config; its `?schema=` goes to the adapter, which would
 * ignore it in the URL. Call `$disconnect()` to close the pool.
 */
export function createPrismaClient(
  databaseUrl: string,
  options: PrismaClientOptions = {},
): PrismaClient {
  const { config, schema, connectionLimit } = parseDatabaseUrl(databaseUrl);
  const max = options.poolSize ?? connectionLimit;
  const pool = new pg.Pool(max === undefined ? config : { ...config, max });
  const adapter = new PrismaPg(pool, { schema, disposeExternalPool: true });
  const client = new PrismaClient({ adapter });
  pools.set(client, pool);
  return client;
}

/**
 * The connection counts of the pool of a client made by {@link createPrismaClient} (metrics),
 * undefined for other clients. Reading them costs nothing.
 */
export function databasePoolStats(client: PrismaClient): DatabasePoolStats | undefined {
  const pool = pools.get(client);
  return (
    pool && {
      totalCount: pool.totalCount,
      idleCount: pool.idleCount,
      waitingCount: pool.waitingCount,
    }
  );
}
