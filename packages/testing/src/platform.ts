import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAccountsServer, type AccountsServer } from '@courier/accounts';
import {
  createAttachmentsServer,
  type AttachmentsServer,
  type AttachmentsServerOptions,
} from '@courier/attachments';
import { parseDatabaseUrl } from '@courier/db';
import { createGateway, type RunningGateway } from '@courier/gateway';
import { createGroupsServer, type GroupLimits } from '@courier/groups';
import { createKeysServer } from '@courier/keys';
import {
  createMessagesServer,
  generateSenderCertificateKeys,
  senderCertificateKeysFrom,
  type MessagesServer,
} from '@courier/messages';
import { createRateLimits, type BucketName, type BucketOverride } from '@courier/limits';
import { createTestLogger } from './logs.ts';
import { createSubgraphRuntime, type SubgraphRuntime, type SubgraphServer } from '@courier/server';
import { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { createTestDatabase, ensureTemplateDatabase, type TestDatabase } from './database.ts';
import { testAdminDatabaseUrl, testRedisUrl } from './env.ts';

const SUPERGRAPH_PATH = new URL('../../../schema/supergraph.graphql', import.meta.url);

/** Options of {@link startPlatform}. */
export interface PlatformOptions {
  /**
   * How many instances of the messages subgraph to run; the gateway routes to the first, the
   * others share the database and Redis as separate scale-out instances would.
   * @default 1
   */
  readonly messagesInstances?: number;
  /**
   * How many instances of the accounts subgraph to run; the gateway routes to the first, the
   * others share the database and Redis (device linking across instances).
   * @default 1
   */
  readonly accountsInstances?: number;
  /**
   * How many instances of the keys subgraph to run; the gateway routes to the first, the others
   * share the database and Redis (reach them with {@link Platform.keysServers} and the router
   * secret).
   * @default 1
   */
  readonly keysInstances?: number;
  /**
   * Bucket changes for the keys subgraph's rate limits (e.g. a large `prekeys` bucket for
   * benchmarks and concurrency tests). Every keys instance then shares one in-memory limiter.
   * @default the runtime's limits (Redis, defaults)
   */
  readonly keysRateLimitOverrides?: Partial<Record<BucketName, BucketOverride>>;
  /**
   * How long messages instances reuse accounts' answers, in ms (0: ask accounts every time, so a
   * test sees account changes at once).
   * @default 2000
   */
  readonly messagesAccountCacheTtlMs?: number;
  /** @default 3600 */
  readonly accessTokenTtlSeconds?: number;
  /** Clock of access tokens, so a test can let them expire without waiting. @default Date.now */
  readonly clock?: () => number;
  /**
   * Settings of the attachments server (limits, clock, public URL...).
   * @default its defaults, storing files in a temporary directory removed by `stop()`
   */
  readonly attachments?: AttachmentsServerOptions;
  /**
   * How many gateways to run; gateway `i` routes messages to messages instance
   * `i % messagesInstances` (every other subgraph is shared), as load-balanced deployments spread
   * clients. `gatewayUrl` is the first.
   * @default 1
   */
  readonly gateways?: number;
  /** A live configuration file for every runtime and gateway (see `LiveConfigFile`). */
  readonly liveConfigFile?: string;
  /** Run subgraphs and gateway in production mode. @default false */
  readonly production?: boolean;
  /** Group limits to change (e.g. a small member limit). @default Signal's */
  readonly groupLimits?: Partial<GroupLimits>;
  /**
   * Start on this existing, migrated database (e.g. one restored from a backup) instead of a
   * fresh clone of the template; `stop()` leaves it in place.
   * @default a fresh database, dropped by `stop()`
   */
  readonly databaseUrl?: string;
  /**
   * The zkgroup server secret params (e.g. those of the platform whose backup this one serves,
   * as a restored deployment keeps its `ZK_SERVER_SECRET_PARAMS`).
   * @default freshly generated
   */
  readonly zkSecretParams?: ServerSecretParams;
}

/** A running platform: five subgraphs and the gateway on free ports, on a database of its own. */
export interface Platform {
  readonly gatewayUrl: string;
  readonly gatewayWsUrl: string;
  /** Every gateway; `[0]` is `gatewayUrl`. */
  readonly gateways: readonly { readonly url: string; readonly wsUrl: string }[];
  readonly routerSecret: string;
  readonly database: TestDatabase;
  /** The prefix of every Redis key and channel of this platform. */
  readonly redisPrefix: string;
  /** The runtime of the first instance (database, bus, tokens). */
  readonly runtime: SubgraphRuntime;
  readonly subgraphs: Readonly<Record<SubgraphName, SubgraphServer>>;
  /** The accounts server (verification outbox, services). */
  readonly accounts: AccountsServer;
  /** Every accounts instance; `[0]` is {@link Platform.accounts}, the one the gateway uses. */
  readonly accountsServers: readonly AccountsServer[];
  /** Every keys instance; `[0]` is the one the gateway uses. */
  readonly keysServers: readonly SubgraphServer[];
  /** Every messages instance; `[0]` is the one the gateway uses. */
  readonly messages: readonly MessagesServer[];
  /** The attachments server (expiry job, storage, public upload/download origin). */
  readonly attachments: AttachmentsServer;
  /**
   * Starts one more gateway whose messages subgraph is at `messagesUrl` (e.g. a messages process
   * started with {@link Platform.processEnv}); it is closed by `stop()`.
   */
  startGateway(messagesUrl: string): Promise<{ readonly url: string; readonly wsUrl: string }>;
  /**
   * The environment of a stand-alone subgraph process (`subgraphs/<name>/src/index.ts`) that
   * joins this platform: same database, Redis prefix, secrets, keys and internal URLs.
   */
  processEnv(): Record<string, string>;
  stop(): Promise<void>;
}

export type SubgraphName = 'accounts' | 'keys' | 'messages' | 'groups' | 'attachments';

/**
 * Boots the whole platform for a test file against real PostgreSQL (a fresh database cloned
 * from the migrated template) and real Redis (a prefix of its own), with the gateway in front.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const adminUrl = testAdminDatabaseUrl();
  const database: TestDatabase = options.databaseUrl
    ? {
        name: String(parseDatabaseUrl(options.databaseUrl).config.database),
        url: options.databaseUrl,
        drop: async () => undefined,
      }
    : await createTestDatabase(adminUrl, await ensureTemplateDatabase(adminUrl));
  const routerSecret = randomBytes(32).toString('hex');
  let accountsUrl = '';
  let keysUrl = '';
  let attachmentsUrl = '';
  const attachmentsDir = await mkdtemp(path.join(tmpdir(), 'courier-attachments-'));
  const settings = {
    accountsUrl: () => accountsUrl,
    ...(options.clock ? { clock: options.clock } : {}),
    databaseUrl: database.url,
    redisUrl: testRedisUrl(),
    redisPrefix: `courier-test:${randomBytes(6).toString('hex')}:`,
    routerSecret,
    tokenSecret: randomBytes(32).toString('hex'),
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    production: options.production ?? false,
    liveConfigFile: options.liveConfigFile,
    // One set of zkgroup params for every subgraph and instance, as in a deployment.
    zkSecretParams: options.zkSecretParams ?? ServerSecretParams.generate(),
    logger: createTestLogger(),
  };
  const runtimes: SubgraphRuntime[] = [];
  const servers: SubgraphServer[] = [];
  const gateways: RunningGateway[] = [];
  const stop = async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
    await Promise.all(servers.map((server) => server.close()));
    await Promise.all(runtimes.map((runtime) => runtime.close()));
    await database.drop();
    await rm(attachmentsDir, { recursive: true, force: true });
  };
  try {
    const newRuntime = async () => {
      const runtime = await createSubgraphRuntime(settings);
      runtimes.push(runtime);
      return runtime;
    };
    const runtime = await newRuntime();
    const start = async <T extends SubgraphServer>(server: T): Promise<T> => {
      servers.push(server);
      await server.listen(0, '127.0.0.1');
      return server;
    };
    // One set of sender-certificate keys for every messages instance, as in production.
    const senderCertificateKeyText = generateSenderCertificateKeys();
    const messagesOptions = {
      accountsUrl: () => accountsUrl,
      keysUrl: () => keysUrl,
      senderCertificateKeys: senderCertificateKeysFrom(senderCertificateKeyText),
      ...(options.messagesAccountCacheTtlMs === undefined
        ? {}
        : { accountCacheTtlMs: options.messagesAccountCacheTtlMs }),
    };
    const messages: MessagesServer[] = [
      await start(createMessagesServer(runtime, messagesOptions)),
    ];
    for (let i = 1; i < (options.messagesInstances ?? 1); i++) {
      messages.push(await start(createMessagesServer(await newRuntime(), messagesOptions)));
    }
    const keysOptions = {
      accountsUrl: () => accountsUrl,
      ...(options.keysRateLimitOverrides
        ? { limits: createRateLimits({ overrides: options.keysRateLimitOverrides }) }
        : {}),
    };
    const keys = await start(createKeysServer(runtime, keysOptions));
    keysUrl = keys.url;
    const keysServers: SubgraphServer[] = [keys];
    for (let i = 1; i < (options.keysInstances ?? 1); i++) {
      keysServers.push(await start(createKeysServer(await newRuntime(), keysOptions)));
    }
    const accountsOptions = { keysUrl: keys.url, attachmentsUrl: () => attachmentsUrl };
    const accounts = await start(createAccountsServer(runtime, accountsOptions));
    accountsUrl = accounts.url;
    const accountsServers: AccountsServer[] = [accounts];
    for (let i = 1; i < (options.accountsInstances ?? 1); i++) {
      accountsServers.push(await start(createAccountsServer(await newRuntime(), accountsOptions)));
    }
    const subgraphs = {
      accounts,
      keys,
      messages: messages[0]!,
      groups: await start(
        createGroupsServer(runtime, {
          accountsUrl: () => accountsUrl,
          ...(options.groupLimits ? { limits: options.groupLimits } : {}),
        }),
      ),
      attachments: await start(
        createAttachmentsServer(runtime, { storageDir: attachmentsDir, ...options.attachments }),
      ),
    };
    attachmentsUrl = subgraphs.attachments.url;
    const supergraphSdl = await readFile(SUPERGRAPH_PATH, 'utf8');
    const startGateway = async (messagesUrl: string) => {
      const gateway = await createGateway({
        supergraphSdl,
        subgraphUrls: {
          ...Object.fromEntries(
            Object.entries(subgraphs).map(([name, server]) => [name, server.url]),
          ),
          messages: messagesUrl,
        },
        routerSecret,
        production: settings.production,
        corsOrigins: [],
        host: '127.0.0.1',
        port: 0,
        logger: settings.logger,
        ...(options.liveConfigFile ? { liveConfigFile: options.liveConfigFile } : {}),
      });
      gateways.push(gateway);
      return { url: gateway.url, wsUrl: gateway.wsUrl };
    };
    for (let i = 0; i < (options.gateways ?? 1); i++) {
      await startGateway(messages[i % messages.length]!.url);
    }
    const processEnv = (): Record<string, string> => ({
      DATABASE_URL: database.url,
      REDIS_URL: settings.redisUrl,
      REDIS_CHANNEL_PREFIX: settings.redisPrefix,
      ROUTER_SECRET: routerSecret,
      TOKEN_SECRET: settings.tokenSecret,
      ACCESS_TOKEN_TTL_SECONDS: String(settings.accessTokenTtlSeconds),
      ACCOUNTS_INTERNAL_URL: accountsUrl,
      KEYS_INTERNAL_URL: keysUrl,
      SENDER_CERTIFICATE_TRUST_ROOT: senderCertificateKeyText.trustRoot,
      SENDER_CERTIFICATE_SERVER_KEY: senderCertificateKeyText.serverKey,
      SENDER_CERTIFICATE_KEY_ID: String(senderCertificateKeyText.keyId),
      ZK_SERVER_SECRET_PARAMS: Buffer.from(settings.zkSecretParams.serialize()).toString('base64'),
      LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn',
      NODE_ENV: 'test',
    });
    return {
      redisPrefix: settings.redisPrefix,
      gatewayUrl: gateways[0]!.url,
      gatewayWsUrl: gateways[0]!.wsUrl,
      gateways: gateways.map((gateway) => ({ url: gateway.url, wsUrl: gateway.wsUrl })),
      startGateway,
      processEnv,
      routerSecret,
      database,
      runtime,
      subgraphs,
      accounts,
      accountsServers,
      keysServers,
      messages,
      attachments: subgraphs.attachments,
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
