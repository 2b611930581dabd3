import {
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { KeysClient } from './clients/keys-client.ts';
import { permissions } from './permissions.ts';
import { AccountRepository } from './repositories/account-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { AccountService } from './services/account-service.ts';
import {
  RegistrationService,
  type ConsumeVerifiedSession,
} from './services/registration-service.ts';
import { AccountEventsRepository } from './repositories/account-events-repository.ts';
import { BlockRepository } from './repositories/block-repository.ts';
import { AccountAttributesService } from './services/account-attributes-service.ts';
import { AccountDeletionService } from './services/account-deletion-service.ts';
import { BlockService } from './services/block-service.ts';
import { DeviceService } from './services/device-service.ts';
import { SessionService } from './services/session-service.ts';
import { accountsInternalRoutes } from './internal/routes.ts';
import {
  createVerification,
  type VerificationOutbox,
  type VerificationService,
  type VerificationSetupOptions,
} from './verification/index.ts';
import { createLinking, type LinkingSetupOptions } from './linking/index.ts';
import { createProfiles, type ProfileSetupOptions } from './profiles/index.ts';
import type { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';

/** How often each instance purges expired verification sessions and used link codes. */
const MAINTENANCE_INTERVAL_MS = 5 * 60_000;

/** The accounts subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** What the accounts subgraph needs besides the runtime. */
export interface AccountsServerOptions
  extends VerificationSetupOptions, LinkingSetupOptions, ProfileSetupOptions {
  /** The keys subgraph's URL (its internal API stores registration keys). */
  readonly keysUrl: string;
}

/** An accounts server and what in-process callers (tests, the embedded host) may use. */
export type AccountsServer = SubgraphServer & {
  /** Verification sessions (registration consumes them). */
  readonly verification: VerificationService;
  /** Codes sent by the `log` sender, for tests and development; undefined with `http`. */
  readonly verificationOutbox: VerificationOutbox | undefined;
  /** The zkgroup server secret params profiles issue credentials with (the runtime's by default). */
  readonly zkSecretParams: ServerSecretParams;
};

/** Builds the accounts subgraph on a shared runtime (not yet listening). */
export function createAccountsServer(
  runtime: SubgraphRuntime,
  options: AccountsServerOptions,
): AccountsServer {
  const common = serverOptionsFrom(runtime, 'accounts');
  const repository = new AccountRepository(runtime.prisma);
  const { service: verification, outbox: verificationOutbox } = createVerification(
    runtime,
    common.logger,
    options,
  );
  const consumeSession: ConsumeVerifiedSession = (sessionId, tx) =>
    verification.consumeVerifiedSession(sessionId, tx);
  const accounts = new AccountService(repository);
  const keys = new KeysClient(options.keysUrl, runtime.routerSecret);
  runtime.credentials.useLookup((aci, deviceId) => repository.credentialIdOf(aci, deviceId));
  const registration = new RegistrationService({
    accounts: repository,
    keys,
    tokens: runtime.tokens,
    consumeSession,
    credentials: runtime.credentials,
    logger: common.logger,
  });
  const devices = new DeviceService(repository, keys, runtime.credentials);
  const attributes = new AccountAttributesService(repository, runtime.tokens, runtime.credentials);
  const sessions = new SessionService(repository, runtime.tokens, runtime.limits);
  const { linking, provisioning } = createLinking(
    runtime,
    { accounts: repository, keys, logger: common.logger },
    options,
  );
  const { blockListVersions } = runtime;
  const blocks = new BlockService(
    new BlockRepository(runtime.prisma, runtime.bus),
    blockListVersions,
  );
  const deletion = new AccountDeletionService({
    accounts: repository,
    events: new AccountEventsRepository(runtime.bus),
    keys,
    credentials: runtime.credentials,
    blockListVersions,
  });
  const { service: profiles, zkSecretParams } = createProfiles(runtime, common.logger, {
    ...options,
    isBlocked: (owner, caller) => blocks.isBlocked(owner, caller),
  });
  const server = createSubgraphServer(
    { name: 'accounts', typeDefs, resolvers, permissions, subscriptions: true },
    {
      ...common,
      maintenance: [
        {
          name: 'purge expired verification sessions',
          intervalMs: MAINTENANCE_INTERVAL_MS,
          run: () => verification.purgeExpired(),
        },
        {
          name: 'purge expired link codes',
          intervalMs: MAINTENANCE_INTERVAL_MS,
          run: () => linking.purgeExpiredCodes(),
        },
      ],
      internalRoutes: accountsInternalRoutes({ accounts: repository, blocks }, common.logger),
      buildContext: (base) => ({
        ...base,
        accounts,
        registration,
        sessions,
        devices,
        attributes,
        verification,
        linking,
        provisioning,
        profiles,
        blocks,
        deletion,
      }),
    },
  );
  return Object.assign(server, { verification, verificationOutbox, zkSecretParams });
}
