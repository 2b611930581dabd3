import {
  Base64Scalar,
  type GraphQLResolverMap,
  TimestampScalar,
  requireDevice,
} from '@courier/server';
import type { AccountsContext } from '../context.ts';

export const resolvers: GraphQLResolverMap<AccountsContext> = {
  Base64: Base64Scalar,
  Timestamp: TimestampScalar,
  Query: {
    me: (_parent, _args, context) => context.accounts.getOwnAccount(requireDevice(context)),
  },
  Account: {
    __resolveReference: (reference: { aci: string }, context: AccountsContext) =>
      context.accounts.resolveReference(reference.aci),
  },
};
