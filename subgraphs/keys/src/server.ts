import type { RateLimits } from '@courier/limits';
import {
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { AccountsClient } from './clients/accounts-client.ts';
import { keysInternalRoutes } from './internal/routes.ts';
import { DeviceKeysRepository } from './repositories/device-keys-repository.ts';
import { IdentityKeyRepository } from './repositories/identity-key-repository.ts';
import { PreKeyRepository } from './repositories/prekey-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import { DeviceKeysService } from './services/device-keys-service.ts';
import { IdentityKeyService } from './services/identity-key-service.ts';
import { PreKeyService } from './services/prekey-service.ts';

/** The keys subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** What the keys subgraph needs besides the runtime. */
export interface KeysServerOptions {
  /**
   * The accounts subgraph's URL (its internal API tells who a service id is and who blocks
   * whom); a getter when accounts starts listening after keys.
   */
  readonly accountsUrl: string | (() => string);
  /**
   * How long accounts' answers are reused in this process, in ms (see `AccountsClient`).
   * @default 2000
   */
  readonly accountCacheTtlMs?: number;
  /** Rate limits to use instead of the runtime's (tests and benchmarks override buckets). */
  readonly limits?: RateLimits;
}

/** Builds the keys subgraph on a shared runtime (not yet listening). */
export function createKeysServer(
  runtime: SubgraphRuntime,
  options: KeysServerOptions,
): SubgraphServer {
  const deviceKeysRepository = new DeviceKeysRepository(runtime.prisma);
  const identityKeys = new IdentityKeyService(new IdentityKeyRepository(runtime.prisma));
  const deviceKeys = new DeviceKeysService(deviceKeysRepository);
  const preKeys = new PreKeyService({
    preKeys: new PreKeyRepository(runtime.prisma),
    deviceKeys: deviceKeysRepository,
    accounts: new AccountsClient(options.accountsUrl, runtime.routerSecret, {
      ...(options.accountCacheTtlMs === undefined ? {} : { cacheTtlMs: options.accountCacheTtlMs }),
      blockListVersions: runtime.blockListVersions,
    }),
    limits: options.limits ?? runtime.limits,
    zkSecretParams: runtime.zkSecretParams,
  });
  const common = serverOptionsFrom(runtime, 'keys');
  return createSubgraphServer(
    { name: 'keys', typeDefs, resolvers, permissions },
    {
      ...common,
      internalRoutes: keysInternalRoutes(deviceKeys, common.logger, identityKeys),
      buildContext: (base) => ({ ...base, identityKeys, preKeys }),
    },
  );
}
