import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type pg from 'pg';
import { connect } from './postgres-tools.ts';

/** `format` of a logical archive's header line. */
export const LOGICAL_FORMAT = 'courier-logical-backup';

const ROWS_PER_FETCH = 1000;
const ROWS_PER_INSERT = 500;
const BYTES_PER_INSERT = 8 * 1024 * 1024;

/** First line of a logical archive. */
interface ArchiveHeader {
  readonly format: typeof LOGICAL_FORMAT;
  readonly version: 1;
  readonly createdAt: string;
  readonly serverVersion: string;
  /** Applied Prisma migrations, oldest first, with their SQL (replayed on restore). */
  readonly migrations: readonly { name: string; checksum: string; sql: string }[];
  /** Tables in the order their data follows (referenced tables before referencing ones). */
  readonly tables: { schema: string; name: string; columns: string[] }[];
  /** Sequence positions at the snapshot. */
  readonly sequences: readonly { schema: string; name: string; lastValue: string }[];
}

/** What a logical backup or restore moved. */
export interface LogicalSummary {
  readonly tables: number;
  readonly rows: number;
  readonly migrations: number;
}

/** Tables of user schemas, referenced tables first (foreign keys), then by name. */
async function tablesInLoadOrder(client: pg.Client) {
  const { rows: tables } = await client.query<{ oid: number; schema: string; name: string }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      ORDER BY n.nspname, c.relname`,
  );
  const { rows: references } = await client.query<{ from: number; to: number }>(
    `SELECT conrelid::int AS "from", confrelid::int AS "to" FROM pg_constraint
      WHERE contype = 'f' AND conrelid <> confrelid`,
  );
  const ordered: typeof tables = [];
  const placed = new Set<number>();
  const visit = (table: (typeof tables)[number], path: Set<number>) => {
    if (placed.has(table.oid) || path.has(table.oid)) return;
    path.add(table.oid);
    for (const reference of references.filter((r) => r.from === table.oid)) {
      const target = tables.find((t) => t.oid === reference.to);
      if (target) visit(target, path);
    }
    placed.add(table.oid);
    ordered.push(table);
  };
  for (const table of tables) visit(table, new Set());
  return ordered;
}

async function appliedMigrations(client: pg.Client, migrationsDir: string) {
  const { rows: exists } = await client.query(
    `SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = '_prisma_migrations'`,
  );
  if (exists.length === 0) return [];
  const { rows } = await client.query<{ name: string; checksum: string }>(
    `SELECT migration_name AS name, checksum FROM public._prisma_migrations
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY started_at, migration_name`,
  );
  return Promise.all(
    rows.map(async ({ name, checksum }) => {
      const sql = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8').catch(() => {
        throw new Error(
          `the database has migration ${name}, which ${migrationsDir} does not hold: back up with the release that applied it (or with pg_dump)`,
        );
      });
      if (createHash('sha256').update(sql).digest('hex') !== checksum) {
        throw new Error(`migration ${name} differs from the one applied to the database`);
      }
      return { name, checksum, sql };
    }),
  );
}

/**
 * Writes a consistent logical backup with nothing but a PostgreSQL connection (no client
 * programs): one `REPEATABLE READ READ ONLY` transaction is one snapshot of every table, as with
 * pg_dump. The gzip'd file holds a JSON header (the applied Prisma migrations with their SQL,
 * which recreate the schema exactly, the tables and sequence positions), then each table's rows
 * as `row_to_json` text, which PostgreSQL parses back on restore, so no value passes through
 * JavaScript types.
 */
export async function writeLogicalArchive(
  databaseUrl: string,
  file: string,
  migrationsDir: string,
): Promise<LogicalSummary> {
  const client = await connect(databaseUrl);
  const gzip = createGzip();
  const written = pipeline(gzip, createWriteStream(file, { mode: 0o600 }));
  const write = async (line: string) => {
    if (!gzip.write(`${line}\n`)) await new Promise((resolve) => gzip.once('drain', resolve));
  };
  let rows = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET LOCAL bytea_output = 'hex'`);
    const tables = await tablesInLoadOrder(client);
    const header: ArchiveHeader = {
      format: LOGICAL_FORMAT,
      version: 1,
      createdAt: new Date().toISOString(),
      serverVersion: (
        await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)
      ).rows[0]!.v,
      migrations: await appliedMigrations(client, migrationsDir),
      tables: [],
      sequences: (
        await client.query<{ schema: string; name: string; lastValue: string }>(
          `SELECT schemaname AS schema, sequencename AS name, last_value::text AS "lastValue"
             FROM pg_sequences WHERE last_value IS NOT NULL
              AND schemaname NOT IN ('pg_catalog', 'information_schema')`,
        )
      ).rows,
    };
    for (const table of tables) {
      const { rows: columns } = await client.query<{ name: string }>(
        `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1 AND attnum > 0
           AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
        [table.oid],
      );
      header.tables.push({
        schema: table.schema,
        name: table.name,
        columns: columns.map((c) => c.name),
      });
    }
    await write(JSON.stringify(header));
    for (const table of header.tables) {
      await write(`#table ${JSON.stringify({ schema: table.schema, name: table.name })}`);
      const qualified = `${client.escapeIdentifier(table.schema)}.${client.escapeIdentifier(table.name)}`;
      await client.query(
        `DECLARE backup_rows NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS r FROM ${qualified} t`,
      );
      for (;;) {
        const batch = await client.query<{ r: string }>(`FETCH ${ROWS_PER_FETCH} FROM backup_rows`);
        for (const row of batch.rows) await write(row.r);
        rows += batch.rows.length;
        if (batch.rows.length < ROWS_PER_FETCH) break;
      }
      await client.query('CLOSE backup_rows');
    }
    await write(`#end ${JSON.stringify({ tables: header.tables.length, rows })}`);
    await client.query('COMMIT');
    gzip.end();
    await written;
    return { tables: header.tables.length, rows, migrations: header.migrations.length };
  } catch (error) {
    gzip.destroy();
    await written.catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/** Prisma's migrations table, as `prisma migrate deploy` creates it. */
const PRISMA_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS public._prisma_migrations (
  id VARCHAR(36) PRIMARY KEY NOT NULL,
  checksum VARCHAR(64) NOT NULL,
  finished_at TIMESTAMPTZ,
  migration_name VARCHAR(255) NOT NULL,
  logs TEXT,
  rolled_back_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  applied_steps_count INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Restores a {@link writeLogicalArchive} file into `client`'s database inside the caller's
 * transaction: replays the archived migrations (the exact schema of the backup; a later
 * `prisma migrate deploy` applies newer ones), loads every table in foreign-key order, sets the
 * sequences. A truncated file (no end line) is refused.
 */
export async function restoreLogicalArchive(
  client: pg.Client,
  file: string,
): Promise<LogicalSummary> {
  const lines = createInterface({
    input: createReadStream(file).pipe(createGunzip()),
    crlfDelay: Infinity,
  });
  let header: ArchiveHeader | undefined;
  let table: { qualified: string; columns: string } | undefined;
  let batch: string[] = [];
  let batchBytes = 0;
  let rows = 0;
  let ended = false;
  const flush = async () => {
    if (!table || batch.length === 0) return;
    await client.query(
      `INSERT INTO ${table.qualified} (${table.columns}) OVERRIDING SYSTEM VALUE
       SELECT ${table.columns} FROM json_populate_recordset(NULL::${table.qualified}, $1::json)`,
      [`[${batch.join(',')}]`],
    );
    rows += batch.length;
    batch = [];
    batchBytes = 0;
  };
  for await (const line of lines) {
    if (!header) {
      const parsed = JSON.parse(line) as ArchiveHeader;
      if (parsed.format !== LOGICAL_FORMAT || parsed.version !== 1) {
        throw new Error(`not a Courier logical backup (version 1): ${file}`);
      }
      header = parsed;
      for (const migration of header.migrations) await client.query(migration.sql);
      await client.query(PRISMA_MIGRATIONS_TABLE);
    } else if (line.startsWith('#table ')) {
      await flush();
      const { schema, name } = JSON.parse(line.slice(7)) as { schema: string; name: string };
      const described = header.tables.find((t) => t.schema === schema && t.name === name);
      if (!described) throw new Error(`table ${schema}.${name} is not in the archive header`);
      table = {
        qualified: `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(name)}`,
        columns: described.columns.map((column) => client.escapeIdentifier(column)).join(', '),
      };
    } else if (line.startsWith('#end ')) {
      await flush();
      ended = true;
    } else if (table) {
      batch.push(line);
      batchBytes += line.length;
      if (batch.length >= ROWS_PER_INSERT || batchBytes >= BYTES_PER_INSERT) await flush();
    }
  }
  if (!header || !ended) throw new Error(`${file} is truncated (no end marker)`);
  for (const sequence of header.sequences) {
    const qualified = `${client.escapeIdentifier(sequence.schema)}.${client.escapeIdentifier(sequence.name)}`;
    await client.query('SELECT setval($1::regclass, $2::bigint, true)', [
      qualified,
      sequence.lastValue,
    ]);
  }
  return { tables: header.tables.length, rows, migrations: header.migrations.length };
}
