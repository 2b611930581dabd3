import type { GraphQLResolverMap } from '@courier/server';
import type { GroupsContext } from '../context.ts';

export const resolvers: GraphQLResolverMap<GroupsContext> = {
  Query: {
    groupLimits: (_parent, _args, context) => context.limits,
  },
};
