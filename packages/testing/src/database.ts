import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, databaseUrlFor, dropDatabase, migrateDatabase } from '@courier/db';
import pg from 'pg';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));
const TEMPLATE_PREFIX = 'courier_tpl_';
const TEMPLATE_LOCK = 0x636f7572; // "cour"

async function migrationsFingerprint(): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else hash.update(entry.name).update(await readFile(path));
    }
  };
  await walk(MIGRATIONS_DIR);
  return hash.digest('hex').slice(0, 16);
}

/**
 * Makes sure a template database holding the current migrations exists and returns its name.
 * It is named by a hash of `prisma/migrations`, so it is built once and reused until a
 * migration changes; an advisory lock keeps concurrent test runs from building it twice, and it
 * is built under a temporary name and renamed, so nobody clones a half-migrated template.
 */
export async function ensureTemplateDatabase(adminUrl: string): Promise<string> {
  const name = `${TEMPLATE_PREFIX}${await migrationsFingerprint()}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    const existing = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${TEMPLATE_PREFIX}%`],
    );
    if (existing.rows.some((row) => row.datname === name)) return name;
    for (const row of existing.rows) await dropDatabase(adminUrl, row.datname);
    const building = `${name}_building`;
    await createDatabase(adminUrl, building);
    await migrateDatabase(databaseUrlFor(adminUrl, building));
    await client.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
    return name;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]).catch(() => undefined);
    await client.end();
  }
}

/** A database of the test's own, cloned from the migrated template. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Clones the template into a fresh uniquely named database. */
export async function createTestDatabase(
  adminUrl: string,
  template: string,
): Promise<TestDatabase> {
  const name = `courier_t_${randomBytes(6).toString('hex')}`;
  await createDatabase(adminUrl, name, { template });
  return {
    name,
    url: databaseUrlFor(adminUrl, name),
    drop: () => dropDatabase(adminUrl, name),
  };
}

/**
 * A fingerprint of a database's rows, to compare two databases or one before and after: per
 * `schema.table`, its row count and a hash of every row, for every table outside the system
 * schemas, or only those in `schemas` when given.
 */
export async function databaseFingerprint(
  url: string,
  schemas?: readonly string[],
): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
          AND ($1::text[] IS NULL OR schemaname = ANY($1))
        ORDER BY 1`,
      [schemas ?? null],
    );
    const result: Record<string, string> = {};
    for (const { t } of tables) {
      const { rows } = await client.query<{ f: string }>(
        `SELECT count(*) || ':' || md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS f
           FROM (SELECT row_to_json(x)::text AS r FROM ${t} x) rows`,
      );
      result[t] = rows[0]!.f;
    }
    return result;
  } finally {
    await client.end();
  }
}
