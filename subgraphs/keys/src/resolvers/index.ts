import { Base64Scalar, type GraphQLResolverMap } from '@courier/server';
import type { IdentityType } from '@courier/db';
import type { KeysContext } from '../context.ts';

export const resolvers: GraphQLResolverMap<KeysContext> = {
  Base64: Base64Scalar,
  Account: {
    __resolveReference: (reference: { aci: string }) => ({ aci: reference.aci }),
    identityKey: (
      account: { aci: string },
      args: { identity: IdentityType },
      context: KeysContext,
    ) => context.identityKeys.identityKeyOf(account.aci, args.identity),
  },
};
