import {
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';
import { DEFAULT_GROUP_LIMITS } from './services/group-limits.ts';

/** The groups subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** Builds the groups subgraph on a shared runtime (not yet listening). */
export function createGroupsServer(runtime: SubgraphRuntime): SubgraphServer {
  return createSubgraphServer(
    { name: 'groups', typeDefs, resolvers, permissions },
    {
      ...serverOptionsFrom(runtime, 'groups'),
      buildContext: (base) => ({ ...base, limits: DEFAULT_GROUP_LIMITS }),
    },
  );
}
