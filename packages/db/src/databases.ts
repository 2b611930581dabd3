import pg from 'pg';

import { assertDatabaseName, parseDatabaseUrl } from './url.ts';

/** Options of {@link createDatabase}. */
export interface CreateDatabaseOptions {
  /**
   * Database to copy (`CREATE DATABASE … TEMPLATE …`): a fast way to get a migrated database. Nobody
   * may be connected to the template while it is copied.
   */
  readonly template?: string;
}

async function withAdminClient<T>(
  adminUrl: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(parseDatabaseUrl(adminUrl).config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates database `name` (`/^[a-z0-9_]+$/`) on the server of `adminUrl`, optionally as a copy of
 * `options.template`.
 */
export async function createDatabase(
  adminUrl: string,
  name: string,
  options: CreateDatabaseOptions = {},
): Promise<void> {
  assertDatabaseName(name);
  let sql = `CREATE DATABASE "${name}"`;
  if (options.template !== undefined) {
    assertDatabaseName(options.template);
    sql += ` TEMPLATE "${options.template}"`;
  }
  await withAdminClient(adminUrl, (client) => client.query(sql));
}

/**
 * Drops database `name` (`/^[a-z0-9_]+$/`) on the server of `adminUrl` if it exists, terminating
 * the sessions still connected to it (`WITH (FORCE)`).
 */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  assertDatabaseName(name);
  await withAdminClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
}
