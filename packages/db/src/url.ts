import type { PoolConfig } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

/** URL parameters that only Prisma understands; pg must not see them. */
const PRISMA_URL_PARAMS = [
  'schema',
  'connection_limit',
  'pool_timeout',
  'socket_timeout',
  'sslaccept',
  'pgbouncer',
  'statement_cache_size',
];

/** A PostgreSQL URL split into a pg config object and the Prisma-only settings it carried. */
export interface ParsedDatabaseUrl {
  /** Connection settings for `pg` (host, port, user, password, database, ssl, ...). */
  readonly config: PoolConfig;
  /** The `?schema=` parameter, which adapter-pg needs as a separate option. */
  readonly schema: string | undefined;
  /** The `?connection_limit=` parameter, if any. */
  readonly connectionLimit: number | undefined;
}

/**
 * Parses a `postgresql://` URL into a pg config object. A parsed object (not a
 * `connectionString`) lets callers override fields such as `database`, which pg ignores next to a
 * connection string.
 */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  const parsed: Record<string, unknown> = { ...parseIntoClientConfig(url) };
  const schema = typeof parsed['schema'] === 'string' ? parsed['schema'] : undefined;
  const limit = Number(parsed['connection_limit']);
  for (const key of PRISMA_URL_PARAMS) delete parsed[key];
  return {
    config: parsed as PoolConfig,
    schema,
    connectionLimit: Number.isInteger(limit) && limit > 0 ? limit : undefined,
  };
}

const DATABASE_NAME = /^[a-z0-9_]+$/;

/**
 * Throws unless `name` is a plain database name (`/^[a-z0-9_]+$/`, at most 63 bytes), so it can be
 * quoted into DDL safely.
 */
export function assertDatabaseName(name: string): void {
  if (!DATABASE_NAME.test(name) || name.length > 63) {
    throw new Error(`Invalid database name ${JSON.stringify(name)}: expected /^[a-z0-9_]+$/`);
  }
}

/** Returns `adminUrl` with its database name replaced by `name`; other parts are kept. */
export function databaseUrlFor(adminUrl: string, name: string): string {
  assertDatabaseName(name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
