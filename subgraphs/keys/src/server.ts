import {
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { keysInternalRoutes } from './internal/routes.ts';
import { DeviceKeysRepository } from './repositories/device-keys-repository.ts';
import { IdentityKeyRepository } from './repositories/identity-key-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import { DeviceKeysService } from './services/device-keys-service.ts';
import { IdentityKeyService } from './services/identity-key-service.ts';

/** The keys subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** Builds the keys subgraph on a shared runtime (not yet listening). */
export function createKeysServer(runtime: SubgraphRuntime): SubgraphServer {
  const identityKeys = new IdentityKeyService(new IdentityKeyRepository(runtime.prisma));
  const deviceKeys = new DeviceKeysService(new DeviceKeysRepository(runtime.prisma));
  const options = serverOptionsFrom(runtime, 'keys');
  return createSubgraphServer(
    { name: 'keys', typeDefs, resolvers, permissions },
    {
      ...options,
      internalRoutes: keysInternalRoutes(deviceKeys, options.logger),
      buildContext: (base) => ({ ...base, identityKeys }),
    },
  );
}
