import type { BaseContext } from '@courier/server';
import type { GroupLimits } from './services/group-limits.ts';

/** The groups subgraph's GraphQL context. */
export interface GroupsContext extends BaseContext {
  readonly limits: GroupLimits;
}
