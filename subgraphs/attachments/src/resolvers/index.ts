import type { GraphQLResolverMap } from '@courier/server';
import type { AttachmentsContext } from '../context.ts';

export const resolvers: GraphQLResolverMap<AttachmentsContext> = {
  Query: {
    attachmentLimits: (_parent, _args, context) => context.limits,
  },
};
