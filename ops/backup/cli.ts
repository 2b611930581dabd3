import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openSealedEnv } from '@courier/config';
import {
  backupDatabase,
  clearCredentialCopies,
  restoreDatabase,
  TargetNotEmptyError,
  type BackupEngineChoice,
} from './index.ts';

const USAGE = `Usage:
  npm run backup -w @courier/ops -- [--database-url URL] [--out FILE] [--engine auto|pg_dump|node]
  npm run restore -w @courier/ops -- --database-url URL --in FILE [--force]
                                     [--redis-url URL] [--redis-prefix courier:]

The database URL defaults to $DATABASE_URL, the Redis URL and prefix to $REDIS_URL and
$REDIS_CHANNEL_PREFIX. Relative paths are taken from the directory npm was started in. The backup
is consistent (one snapshot) and may run while Courier serves. Restore goes into a fresh database
(created when missing); with a Redis URL it then deletes the credential copies in Redis, which
could refuse restored devices' tokens.`;

/** `npm run backup|restore -w @courier/ops`: see {@link USAGE}. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      'database-url': { type: 'string' },
      out: { type: 'string' },
      in: { type: 'string' },
      engine: { type: 'string', default: 'auto' },
      force: { type: 'boolean', default: false },
      'redis-url': { type: 'string' },
      'redis-prefix': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const opened = openSealedEnv(process.env);
  if (opened.problems.length > 0) {
    console.error(opened.problems.join('\n'));
    return 78;
  }
  const env = opened.env;
  const databaseUrl = values['database-url'] ?? env['DATABASE_URL'];
  const base = process.env['INIT_CWD'] ?? process.cwd();
  if (values.help || (command !== 'backup' && command !== 'restore') || !databaseUrl) {
    console.error(USAGE);
    return values.help ? 0 : 64;
  }
  if (command === 'backup') {
    const engine = values.engine as BackupEngineChoice;
    if (!['auto', 'pg_dump', 'node'].includes(engine)) {
      console.error(`--engine must be auto, pg_dump or node\n\n${USAGE}`);
      return 64;
    }
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
    const file = resolve(base, values.out ?? `backups/courier-${stamp}.backup`);
    await mkdir(dirname(file), { recursive: true });
    const result = await backupDatabase({ databaseUrl, file, engine });
    const how = result.tool ? `${result.tool.path} (PostgreSQL ${result.tool.major})` : 'Node';
    console.log(
      `backup written: ${result.file} (${result.bytes} bytes, ${result.milliseconds} ms, ${how})`,
    );
    return 0;
  }
  if (!values.in) {
    console.error(`--in FILE is required\n\n${USAGE}`);
    return 64;
  }
  try {
    const result = await restoreDatabase({
      databaseUrl,
      file: resolve(base, values.in),
      force: values.force,
    });
    const tables = Object.entries(result.rows);
    console.log(
      `restored with ${result.engine === 'pg_dump' ? 'pg_restore' : 'the Node engine'} in ${result.milliseconds} ms: ` +
        `${tables.length} tables, ${tables.reduce((sum, [, n]) => sum + n, 0)} rows, ` +
        `latest migration ${result.latestMigration ?? '(none)'}`,
    );
    const redisUrl = values['redis-url'] ?? env['REDIS_URL'];
    if (redisUrl) {
      const prefix = values['redis-prefix'] ?? process.env['REDIS_CHANNEL_PREFIX'] ?? 'courier:';
      const deleted = await clearCredentialCopies(redisUrl, prefix);
      console.log(`deleted ${deleted} credential copies (${prefix}credential:*) from Redis`);
    } else {
      console.log(
        "No Redis URL: before serving, delete Redis keys '<prefix>credential:*' (see ops/README.md).",
      );
    }
    console.log(
      'Next: DATABASE_URL=<this database> npm run migrate:deploy -w @courier/prisma (applies newer migrations, if any), then start Courier with the same secrets.',
    );
    return 0;
  } catch (error) {
    if (error instanceof TargetNotEmptyError) {
      console.error(error.message);
      return 65;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
