import { requireDevice, type GraphQLResolverMap } from '@courier/server';
import type { AccountsContext } from '../context.ts';
import type { ProfileQuery, ProfileView } from './service.ts';
import type { SetProfileInput } from './validation.ts';

type Resolvers = GraphQLResolverMap<AccountsContext>;

/** Resolvers of the profile fields; thin: each calls the profile service. */
export const profileResolvers = {
  Query: {
    profile: (_parent, args: ProfileQuery, context) =>
      context.profiles.getProfile(context.auth, args),
    zkServerPublicParams: (_parent, _args, context) => context.profiles.serverPublicParams(),
  },
  Mutation: {
    setProfile: (_parent, args: { input: SetProfileInput }, context) =>
      context.profiles.setProfile(requireDevice(context), args.input),
  },
  Profile: {
    account: (profile: ProfileView, _args, context) =>
      context.accounts.resolveReference(profile.aci),
  },
} satisfies Record<'Query' | 'Mutation' | 'Profile', Resolvers[string]>;
