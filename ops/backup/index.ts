import { chmod, open, rename, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createDatabase, databaseUrlFor, parseDatabaseUrl } from '@courier/db';
import type pg from 'pg';
import { restoreLogicalArchive, writeLogicalArchive } from './logical-archive.ts';
import {
  connect,
  libpqEnvironment,
  locateTool,
  run,
  serverMajorVersion,
  type LocatedTool,
} from './postgres-tools.ts';

/**
 * Backup and restore of Courier's PostgreSQL database (every subgraph's schema and Prisma's
 * migration table). PostgreSQL is the only state to back up: Redis holds pub/sub channels, rate
 * limit buckets and copies of credential revocations, all rebuilt or re-derived from PostgreSQL
 * (see ops/README.md). Attachment bytes live in their own store (files or S3) and are backed up
 * with it.
 *
 * @packageDocumentation
 */

/** How a backup is written. */
export type BackupEngine = 'pg_dump' | 'node';

/** `pg_dump` when a client at least as new as the server is installed, else `node`. */
export type BackupEngineChoice = BackupEngine | 'auto';

/** The committed migrations, which the Node engine's archives embed. */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

/** Options of {@link backupDatabase}. */
export interface BackupOptions {
  readonly databaseUrl: string;
  /** Archive to write; written beside as `<file>.partial` and renamed when complete. */
  readonly file: string;
  /** @default 'auto' */
  readonly engine?: BackupEngineChoice;
}

/** What a backup wrote. */
export interface BackupResult {
  readonly engine: BackupEngine;
  readonly file: string;
  readonly bytes: number;
  readonly milliseconds: number;
  /** The pg_dump used, when `engine` is `pg_dump`. */
  readonly tool?: LocatedTool;
}

/**
 * Writes a consistent backup of the database while it serves: pg_dump's custom format (one
 * transaction, one snapshot of every table; compressed; restored with pg_restore) when a pg_dump
 * at least as new as the server is on this machine, else the Node engine's logical archive (the
 * same snapshot guarantee through one `REPEATABLE READ` transaction), which needs nothing but
 * npm. The archive appears under `file` only once complete, readable by its owner only (it holds
 * password hashes and public key material, and undelivered ciphertext).
 */
export async function backupDatabase(options: BackupOptions): Promise<BackupResult> {
  const started = performance.now();
  const client = await connect(options.databaseUrl);
  let major: number;
  try {
    major = await serverMajorVersion(client);
  } finally {
    await client.end();
  }
  const choice = options.engine ?? 'auto';
  const tool = choice === 'node' ? undefined : await locateTool('pg_dump', major);
  if (choice === 'pg_dump' && !tool) {
    throw new Error(`no pg_dump of version ${major} or newer found (PATH, /usr/lib/postgresql)`);
  }
  const partial = `${options.file}.partial`;
  try {
    if (tool) {
      await run(
        tool.path,
        ['--format=custom', '--no-owner', '--no-privileges', `--file=${partial}`],
        libpqEnvironment(options.databaseUrl),
      );
    } else {
      await writeLogicalArchive(options.databaseUrl, partial, MIGRATIONS_DIR);
    }
    await chmod(partial, 0o600);
    await rename(partial, options.file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return {
    engine: tool ? 'pg_dump' : 'node',
    file: options.file,
    bytes: (await stat(options.file)).size,
    milliseconds: Math.round(performance.now() - started),
    ...(tool ? { tool } : {}),
  };
}

/** Options of {@link restoreDatabase}. */
export interface RestoreOptions {
  /** Target database; created (on the same server) when it does not exist. */
  readonly databaseUrl: string;
  /** An archive written by {@link backupDatabase} (either engine; recognised by its content). */
  readonly file: string;
  /**
   * Restore into a database that already holds tables: every non-system schema in it is dropped
   * first. Without it such a target is refused.
   * @default false
   */
  readonly force?: boolean;
}

/** What a restore did. */
export interface RestoreResult {
  readonly engine: BackupEngine;
  readonly milliseconds: number;
  /** Name of the newest applied migration in the restored database. */
  readonly latestMigration: string | undefined;
  /** Rows per table (`schema.table`) in the restored database. */
  readonly rows: Readonly<Record<string, number>>;
}

/** Thrown when the target of a restore already holds tables and `force` is not set. */
export class TargetNotEmptyError extends Error {
  constructor(readonly relations: readonly string[]) {
    super(
      `the target database is not empty (${relations.slice(0, 5).join(', ')}${relations.length > 5 ? ', …' : ''}); restore into a fresh database, or pass --force to replace its contents`,
    );
    this.name = 'TargetNotEmptyError';
  }
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;

/** Tables, views and sequences outside the system schemas (`schema.name`). */
export async function userRelations(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_SCHEMAS}
      ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

async function connectCreatingDatabase(databaseUrl: string): Promise<pg.Client> {
  try {
    return await connect(databaseUrl);
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error;
    const name = String(parseDatabaseUrl(databaseUrl).config.database);
    await createDatabase(databaseUrlFor(databaseUrl, 'postgres'), name);
    return connect(databaseUrl);
  }
}

async function clearDatabase(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_namespace n WHERE ${USER_SCHEMAS}`,
  );
  for (const { name } of rows) {
    await client.query(`DROP SCHEMA ${client.escapeIdentifier(name)} CASCADE`);
  }
  await client.query('CREATE SCHEMA IF NOT EXISTS public');
}

async function isCustomFormat(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const magic = Buffer.alloc(5);
    await handle.read(magic, 0, 5, 0);
    return magic.toString('latin1') === 'PGDMP';
  } finally {
    await handle.close();
  }
}

/**
 * Restores an archive into a fresh database, atomically (pg_restore `--single-transaction`, or
 * one transaction for the Node engine's archives): after a failure the target is as empty as
 * before. A target that already holds tables is refused unless `force` is set. Run
 * `prisma migrate deploy` afterwards when the release is newer than the backup.
 */
export async function restoreDatabase(options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const client = await connectCreatingDatabase(options.databaseUrl);
  let engine: BackupEngine;
  try {
    const existing = await userRelations(client);
    if (existing.length > 0 && !options.force) throw new TargetNotEmptyError(existing);
    if (await isCustomFormat(options.file)) {
      engine = 'pg_dump';
      if (existing.length > 0) await clearDatabase(client);
      const tool = await locateTool('pg_restore', await serverMajorVersion(client));
      if (!tool) {
        throw new Error(
          'this archive was written by pg_dump: restoring it needs pg_restore (PostgreSQL client programs)',
        );
      }
      const env = libpqEnvironment(options.databaseUrl);
      await run(
        tool.path,
        [
          `--dbname=${env['PGDATABASE'] ?? ''}`,
          '--no-owner',
          '--no-privileges',
          '--exit-on-error',
          '--single-transaction',
          options.file,
        ],
        env,
      );
    } else {
      engine = 'node';
      await client.query('BEGIN');
      try {
        if (existing.length > 0) await clearDatabase(client);
        await restoreLogicalArchive(client, options.file);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
    return {
      engine,
      milliseconds: Math.round(performance.now() - started),
      ...(await describeDatabase(client)),
    };
  } finally {
    await client.end();
  }
}

/** The newest applied migration and the row count of every table of a database. */
export async function describeDatabase(
  client: pg.Client,
): Promise<Pick<RestoreResult, 'latestMigration' | 'rows'>> {
  const rows: Record<string, number> = {};
  const { rows: tables } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${USER_SCHEMAS} ORDER BY 1, 2`,
  );
  for (const table of tables) {
    const qualified = `${client.escapeIdentifier(table.schema)}.${client.escapeIdentifier(table.name)}`;
    const { rows: counted } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${qualified}`,
    );
    rows[`${table.schema}.${table.name}`] = Number(counted[0]!.n);
  }
  let latestMigration: string | undefined;
  if (rows['public._prisma_migrations'] !== undefined) {
    const { rows: latest } = await client.query<{ name: string }>(
      `SELECT migration_name AS name FROM public._prisma_migrations
        WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL
        ORDER BY migration_name DESC LIMIT 1`,
    );
    latestMigration = latest[0]?.name;
  }
  return { latestMigration, rows };
}

export { LOGICAL_FORMAT } from './logical-archive.ts';
export { clearCredentialCopies } from './redis.ts';
export { candidateDirectories, locateTool, type LocatedTool } from './postgres-tools.ts';
