import {
  AccountsClient,
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { permissions } from './permissions.ts';
import { GroupRepository } from './repositories/group-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { DEFAULT_GROUP_LIMITS, type GroupLimits } from './services/group-limits.ts';
import { GroupService } from './services/group-service.ts';
import { GroupZk } from './services/group-zk.ts';

export type { GroupLimits } from './services/group-limits.ts';

/** The groups subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** What the groups subgraph needs besides the runtime. */
export interface GroupsServerOptions {
  /**
   * The accounts subgraph's URL (its internal API tells an account's PNI for auth
   * credentials); a getter when accounts starts listening after groups.
   */
  readonly accountsUrl: string | (() => string);
  /** Limits to apply instead of Signal's (tests lower the member limit). */
  readonly limits?: Partial<GroupLimits>;
}

/**
 * Builds the groups subgraph on a shared runtime (not yet listening). zkgroup operations use
 * the runtime's server secret params, the same ones every subgraph of the deployment has.
 */
export function createGroupsServer(
  runtime: SubgraphRuntime,
  options: GroupsServerOptions,
): SubgraphServer {
  const limits: GroupLimits = { ...DEFAULT_GROUP_LIMITS, ...options.limits };
  const groups = new GroupService({
    repository: new GroupRepository(runtime.prisma),
    zk: new GroupZk(runtime.zkSecretParams),
    accounts: new AccountsClient(options.accountsUrl, runtime.routerSecret),
    limits,
  });
  return createSubgraphServer(
    { name: 'groups', typeDefs, resolvers, permissions },
    {
      ...serverOptionsFrom(runtime, 'groups'),
      buildContext: (base) => ({ ...base, limits, groups }),
    },
  );
}
