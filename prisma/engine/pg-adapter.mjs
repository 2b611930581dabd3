import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

const CHAR_OID = 18;
const TEXT_OID = 25;

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

/**
 * Parses a PostgreSQL URL into a pg config object (a `database` override next to a
 * `connectionString` is ignored by pg, so shadow databases need a parsed config).
 *
 * @param {string} url
 * @returns {{ config: pg.PoolConfig, schema: string | undefined }}
 */
export function parseDatabaseUrl(url) {
  const parsed = parseIntoClientConfig(url);
  const schema = typeof parsed.schema === 'string' ? parsed.schema : undefined;
  for (const key of PRISMA_URL_PARAMS) delete parsed[key];
  return { config: { ...parsed }, schema };
}

/**
 * Postgres reports its internal `"char"` type (OID 18, e.g. `pg_constraint.contype`, read by the
 * engine's introspection) with a type id adapter-pg 7.10 rejects; its text form is a plain string.
 */
function charAsText(result) {
  for (const r of Array.isArray(result) ? result : [result]) {
    if (r && Array.isArray(r.fields)) {
      for (const field of r.fields) if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
    }
  }
  return result;
}

class CharAsTextClient extends pg.Client {
  query(...args) {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last];
      args[last] = (error, result) => callback(error, error ? result : charAsText(result));
      return super.query(...args);
    }
    const returned = super.query(...args);
    return returned && typeof returned.then === 'function' ? returned.then(charAsText) : returned;
  }
}

/**
 * Opens an adapter-pg connection on its own pool. Migration scripts run as one simple-protocol
 * query, like the native engine does: adapter-pg would split them on every `;`, including those
 * inside string literals and function bodies.
 *
 * @param {pg.PoolConfig} config
 * @param {string | undefined} schema
 */
async function openAdapter(config, schema) {
  const pool = new pg.Pool({ ...config, max: 4, Client: CharAsTextClient });
  const adapter = await new PrismaPg(pool, { schema, disposeExternalPool: true }).connect();
  adapter.executeScript = async (script) => {
    try {
      await pool.query(script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  return adapter;
}

/** The probe the wasm engine runs when it starts, before any command. */
const STARTUP_PROBE =
  /^SELECT EXISTS\(SELECT 1 FROM pg_namespace WHERE nspname = \$1\), version\(\)/;

/**
 * Stands in for a connection when no URL is configured. The engine probes the server when it
 * starts, even for commands that never need one (a diff between two schema files): that probe gets
 * a PostgreSQL 15 answer, and anything else fails with a clear message.
 */
function unconnectedAdapter() {
  const fail = async () => {
    throw new Error('No datasource URL: set DATABASE_URL (read by prisma/prisma.config.ts).');
  };
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    queryRaw: async (query) => {
      if (!STARTUP_PROBE.test(query.sql)) return fail();
      return {
        columnNames: ['exists', 'version', 'numeric_version'],
        columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
        rows: [[true, 'PostgreSQL 15 (no database configured)', 150000]],
      };
    },
    executeRaw: fail,
    executeScript: fail,
    startTransaction: fail,
    getConnectionInfo: () => ({ schemaName: undefined, supportsRelationJoins: true }),
    dispose: async () => {},
  };
}

/**
 * Runs `fn` with a single pg client connected to `config`.
 *
 * @template T
 * @param {pg.ClientConfig} config
 * @param {(client: pg.Client) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withClient(config, fn) {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** @param {string} name */
export function quoteIdent(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * @param {pg.ClientConfig} a
 * @param {pg.ClientConfig} b
 */
function sameDatabase(a, b) {
  return (
    (a.host ?? 'localhost') === (b.host ?? 'localhost') &&
    (a.port ?? 5432) === (b.port ?? 5432) &&
    a.database === b.database
  );
}

/**
 * Drops every schema of a configured shadow database, as the native engine resets it before
 * replaying migrations (the wasm engine leaves that to the adapter).
 *
 * @param {pg.ClientConfig} config
 */
async function emptyDatabase(config) {
  await withClient(config, async (client) => {
    const { rows } = await client.query(
      "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'",
    );
    for (const { nspname } of rows)
      await client.query(`DROP SCHEMA ${quoteIdent(nspname)} CASCADE`);
    await client.query('CREATE SCHEMA public');
  });
}

/**
 * The migration-aware adapter factory the wasm engine uses as its database connection.
 *
 * The shadow database is `shadowDatabaseUrl` when configured; otherwise a temporary database
 * created next to the main one, dropped after its pool is closed (adapter-pg 7.10 drops it while
 * still connected, which fails).
 */
class CourierPgFactory {
  provider = 'postgres';
  adapterName = '@prisma/adapter-pg';

  /** @param {{ url?: string, shadowDatabaseUrl?: string }} datasource */
  constructor(datasource) {
    this.main = datasource.url ? parseDatabaseUrl(datasource.url) : undefined;
    this.shadow = datasource.shadowDatabaseUrl
      ? parseDatabaseUrl(datasource.shadowDatabaseUrl)
      : undefined;
  }

  async connect() {
    if (!this.main) return unconnectedAdapter();
    return openAdapter(this.main.config, this.main.schema);
  }

  async connectToShadowDb() {
    if (this.shadow) {
      if (this.main && sameDatabase(this.main.config, this.shadow.config)) {
        throw new Error('SHADOW_DATABASE_URL names the main database; it would be wiped.');
      }
      await emptyDatabase(this.shadow.config);
      return openAdapter(this.shadow.config, this.shadow.schema);
    }
    if (!this.main) {
      throw new Error(
        'A shadow database is needed: set DATABASE_URL (a temporary database is created on that ' +
          'server) or SHADOW_DATABASE_URL.',
      );
    }
    const adminConfig = this.main.config;
    const database = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`;
    await withClient(adminConfig, (c) => c.query(`CREATE DATABASE ${quoteIdent(database)}`));
    const adapter = await openAdapter({ ...adminConfig, database }, this.main.schema);
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      await withClient(adminConfig, (c) =>
        c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`),
      );
    };
    return adapter;
  }
}

/**
 * Builds the error-capturing adapter factory handed to `SchemaEngine.new`.
 *
 * @param {{ url?: string, shadowDatabaseUrl?: string }} datasource
 */
export function createAdapterFactory(datasource) {
  return bindMigrationAwareSqlAdapterFactory(new CourierPgFactory(datasource));
}
