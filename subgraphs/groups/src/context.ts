import type { BaseContext } from '@courier/server';
import type { GroupLimits } from './services/group-limits.ts';
import type { GroupService } from './services/group-service.ts';

/** The groups subgraph's GraphQL context. */
export interface GroupsContext extends BaseContext {
  readonly limits: GroupLimits;
  readonly groups: GroupService;
}
