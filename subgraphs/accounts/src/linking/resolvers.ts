import { requireDevice, type GraphQLResolverMap } from '@courier/server';
import type { AccountsContext } from '../context.ts';
import type { ProvisioningEventModel } from './provisioning.ts';
import type { LinkDeviceInput } from './service.ts';

/** Resolvers of the linking fields, spread into the accounts subgraph's resolver map. */
export const linkingResolvers = {
  ProvisioningEvent: {
    __resolveType: (event: ProvisioningEventModel) => event.__typename,
  },
  Subscription: {
    provisioning: {
      subscribe: (_parent: unknown, _args: unknown, context: AccountsContext) =>
        context.provisioning.open(context.client),
      resolve: (event: ProvisioningEventModel) => event,
    },
  },
  Mutation: {
    createLinkDeviceCode: (_parent: unknown, _args: unknown, context: AccountsContext) =>
      context.linking.createCode(requireDevice(context)),
    sendProvisioningMessage: async (
      _parent: unknown,
      args: { address: string; body: Uint8Array },
      context: AccountsContext,
    ) => {
      requireDevice(context);
      await context.provisioning.send(args.address, args.body);
      return true;
    },
    linkDevice: (_parent: unknown, args: { input: LinkDeviceInput }, context: AccountsContext) =>
      context.linking.link(args.input),
  },
} satisfies GraphQLResolverMap<AccountsContext>;
