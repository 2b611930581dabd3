import { Base64Scalar, requireDevice, type GraphQLResolverMap } from '@courier/server';
import type { IdentityType } from '@courier/db';
import type { KeysContext } from '../context.ts';
import type { PreKeyBundleQuery, SetPreKeysInput } from '../services/prekey-service.ts';

export const resolvers: GraphQLResolverMap<KeysContext> = {
  Base64: Base64Scalar,
  Query: {
    preKeyCounts: (_parent, args: { identity: IdentityType }, context) =>
      context.preKeys.preKeyCounts(requireDevice(context), args.identity),
    checkPreKeys: (_parent, args: { identity: IdentityType; digest: Uint8Array }, context) =>
      context.preKeys.checkPreKeys(requireDevice(context), args.identity, args.digest),
  },
  Mutation: {
    preKeyBundle: (_parent, args: PreKeyBundleQuery, context) =>
      context.preKeys.preKeyBundle(context.auth, args),
    setPreKeys: async (
      _parent,
      args: { identity: IdentityType; input: SetPreKeysInput },
      context,
    ) => {
      await context.preKeys.setPreKeys(requireDevice(context), args.identity, args.input);
      return true;
    },
  },
  Account: {
    __resolveReference: (reference: { aci: string }) => ({ aci: reference.aci }),
    identityKey: (
      account: { aci: string },
      args: { identity: IdentityType },
      context: KeysContext,
    ) => context.identityKeys.identityKeyOf(account.aci, args.identity),
  },
};
