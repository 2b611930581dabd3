import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const prismaCli = require.resolve('prisma/build/index.js');
const prismaDir = path.dirname(require.resolve('@courier/prisma/package.json'));

/** Absolute path of Courier's `prisma.config.ts` (schema, migrations, offline schema engine). */
export const prismaConfigPath = path.join(prismaDir, 'prisma.config.ts');

/**
 * Applies the committed migrations of `prisma/migrations` to `databaseUrl` by running
 * `prisma migrate deploy` with Courier's config (which selects the offline wasm schema engine), and
 * creates the database first if it is missing. Rejects with the CLI's output if it fails.
 */
export function migrateDatabase(databaseUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [prismaCli, 'migrate', 'deploy', '--config', prismaConfigPath],
      {
        cwd: prismaDir,
        env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const output = Buffer.concat(stderr).toString().trim() || Buffer.concat(stdout).toString();
      const status = signal ? `signal ${signal}` : `exit code ${code}`;
      reject(new Error(`prisma migrate deploy failed (${status}): ${output.trim()}`));
    });
  });
}
