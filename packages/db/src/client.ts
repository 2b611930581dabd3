import { PrismaPg } from '@prisma/adapter-pg';

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
  const adapter = new PrismaPg(max === undefined ? config : { ...config, max }, { schema });
  return new PrismaClient({ adapter });
}
