import {
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { AccountRepository } from './repositories/account-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { permissions } from './permissions.ts';
import { AccountService } from './services/account-service.ts';

/** The accounts subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** Builds the accounts subgraph on a shared runtime (not yet listening). */
export function createAccountsServer(runtime: SubgraphRuntime): SubgraphServer {
  const accounts = new AccountService(new AccountRepository(runtime.prisma));
  return createSubgraphServer(
    { name: 'accounts', typeDefs, resolvers, permissions },
    { ...serverOptionsFrom(runtime, 'accounts'), buildContext: (base) => ({ ...base, accounts }) },
  );
}
