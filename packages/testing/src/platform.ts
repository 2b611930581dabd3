import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createAccountsServer, type AccountsServer } from '@courier/accounts';
import { createAttachmentsServer } from '@courier/attachments';
import { createGateway, type RunningGateway } from '@courier/gateway';
import { createGroupsServer } from '@courier/groups';
import { createKeysServer } from '@courier/keys';
import {
  createMessagesServer,
  generateSenderCertificateKeys,
  senderCertificateKeysFrom,
  type MessagesServer,
} from '@courier/messages';
import { createRateLimits, type BucketName, type BucketOverride } from '@courier/limits';
import { createLogger } from '@courier/logging';
import { createSubgraphRuntime, type SubgraphRuntime, type SubgraphServer } from '@courier/server';
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
  /** @default 3600 */
  readonly accessTokenTtlSeconds?: number;
  /** Clock of access tokens, so a test can let them expire without waiting. @default Date.now */
  readonly clock?: () => number;
  /** Run subgraphs and gateway in production mode. @default false */
  readonly production?: boolean;
}

/** A running platform: five subgraphs and the gateway on free ports, on a database of its own. */
export interface Platform {
  readonly gatewayUrl: string;
  readonly gatewayWsUrl: string;
  readonly routerSecret: string;
  readonly database: TestDatabase;
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
  stop(): Promise<void>;
}

export type SubgraphName = 'accounts' | 'keys' | 'messages' | 'groups' | 'attachments';

/**
 * Boots the whole platform for a test file against real PostgreSQL (a fresh database cloned
 * from the migrated template) and real Redis (a prefix of its own), with the gateway in front.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const adminUrl = testAdminDatabaseUrl();
  const database = await createTestDatabase(adminUrl, await ensureTemplateDatabase(adminUrl));
  const routerSecret = randomBytes(32).toString('hex');
  let accountsUrl = '';
  let keysUrl = '';
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
    logger: createLogger({ name: 'test', level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
  };
  const runtimes: SubgraphRuntime[] = [];
  const servers: SubgraphServer[] = [];
  let gateway: RunningGateway | undefined;
  const stop = async () => {
    await gateway?.close();
    await Promise.all(servers.map((server) => server.close()));
    await Promise.all(runtimes.map((runtime) => runtime.close()));
    await database.drop();
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
    const messagesOptions = {
      accountsUrl: () => accountsUrl,
      keysUrl: () => keysUrl,
      senderCertificateKeys: senderCertificateKeysFrom(generateSenderCertificateKeys()),
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
    const accounts = await start(createAccountsServer(runtime, { keysUrl: keys.url }));
    accountsUrl = accounts.url;
    const accountsServers: AccountsServer[] = [accounts];
    for (let i = 1; i < (options.accountsInstances ?? 1); i++) {
      accountsServers.push(
        await start(createAccountsServer(await newRuntime(), { keysUrl: keys.url })),
      );
    }
    const subgraphs = {
      accounts,
      keys,
      messages: messages[0]!,
      groups: await start(createGroupsServer(runtime)),
      attachments: await start(createAttachmentsServer(runtime)),
    };
    gateway = await createGateway({
      supergraphSdl: await readFile(SUPERGRAPH_PATH, 'utf8'),
      subgraphUrls: Object.fromEntries(
        Object.entries(subgraphs).map(([name, server]) => [name, server.url]),
      ),
      routerSecret,
      production: settings.production,
      corsOrigins: [],
      host: '127.0.0.1',
      port: 0,
      logger: settings.logger,
    });
    return {
      gatewayUrl: gateway.url,
      gatewayWsUrl: gateway.wsUrl,
      routerSecret,
      database,
      runtime,
      subgraphs,
      accounts,
      accountsServers,
      keysServers,
      messages,
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
