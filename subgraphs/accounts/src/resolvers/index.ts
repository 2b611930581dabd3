import {
  Base64Scalar,
  TimestampScalar,
  requireDevice,
  type GraphQLResolverMap,
} from '@courier/server';
import type { AccountsContext } from '../context.ts';
import type { DeviceRecord } from '../repositories/account-repository.ts';
import type { AccountAttributesInput } from '../services/account-attributes-service.ts';
import type { RegisterAccountInput } from '../services/registration-service.ts';
import { verificationResolvers } from '../verification/index.ts';
import { linkingResolvers } from '../linking/index.ts';
import { profileResolvers } from '../profiles/index.ts';

export const resolvers: GraphQLResolverMap<AccountsContext> = {
  Base64: Base64Scalar,
  Timestamp: TimestampScalar,
  Query: {
    me: (_parent, _args, context) => context.accounts.getOwnAccount(requireDevice(context)),
    devices: (_parent, _args, context) => context.sessions.devicesOf(requireDevice(context)),
    blockedAccounts: (_parent, _args, context) => context.blocks.blockedBy(requireDevice(context)),
    ...verificationResolvers.Query,
    ...profileResolvers.Query,
  },
  Mutation: {
    ...verificationResolvers.Mutation,
    ...linkingResolvers.Mutation,
    ...profileResolvers.Mutation,
    registerAccount: (_parent, args: { input: RegisterAccountInput }, context) =>
      context.registration.register(args.input),
    login: (
      _parent,
      args: { input: { aci: string; deviceId: number; password: string } },
      context,
    ) => context.sessions.login(args.input),
    setAccountAttributes: (_parent, args: { input: AccountAttributesInput }, context) =>
      context.attributes.setAttributes(requireDevice(context), args.input),
    removeDevice: async (_parent, args: { deviceId: number }, context) => {
      await context.devices.removeDevice(requireDevice(context), args.deviceId);
      return true;
    },
    blockAccount: async (_parent, args: { aci: string }, context) => {
      await context.blocks.block(requireDevice(context), args.aci);
      return true;
    },
    unblockAccount: async (_parent, args: { aci: string }, context) => {
      await context.blocks.unblock(requireDevice(context), args.aci);
      return true;
    },
    deleteAccount: async (_parent, _args, context) => {
      await context.deletion.deleteAccount(requireDevice(context));
      return true;
    },
  },
  Subscription: linkingResolvers.Subscription,
  Profile: profileResolvers.Profile,
  ProvisioningEvent: linkingResolvers.ProvisioningEvent,
  Device: {
    id: (device: DeviceRecord) => device.deviceId,
    encryptedName: (device: DeviceRecord) => device.encryptedName,
  },
  Account: {
    __resolveReference: (reference: { aci: string }, context: AccountsContext) =>
      context.accounts.resolveReference(reference.aci),
  },
};
