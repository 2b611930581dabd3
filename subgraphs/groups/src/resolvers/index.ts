import {
  Base64Scalar,
  TimestampScalar,
  requireDevice,
  type GraphQLResolverMap,
} from '@courier/server';
import type { GroupsContext } from '../context.ts';
import type { GroupView } from '../services/group-service.ts';
import type { GroupAuthInput } from '../services/group-zk.ts';

export const resolvers: GraphQLResolverMap<GroupsContext> = {
  Base64: Base64Scalar,
  Timestamp: TimestampScalar,
  Query: {
    groupLimits: (_parent, _args, context) => context.limits,
    groupAuthCredentials: (_parent, args: { fromDay: number; toDay: number }, context) =>
      context.groups.authCredentials(requireDevice(context), args.fromDay, args.toDay),
    group: (_parent, args: { auth: GroupAuthInput }, context) => context.groups.group(args.auth),
    groupChanges: (
      _parent,
      args: { auth: GroupAuthInput; fromVersion: number; limit?: number | null },
      context,
    ) => context.groups.groupChanges(args.auth, args.fromVersion, args.limit ?? null),
    groupJoinInfo: (
      _parent,
      args: { auth: GroupAuthInput; inviteLinkPassword?: Uint8Array | null },
      context,
    ) => context.groups.groupJoinInfo(args.auth, args.inviteLinkPassword ?? null),
  },
  Group: {
    groupSendEndorsements: (view: GroupView) => view.groupSendEndorsements(),
  },
  Mutation: {
    createGroup: (_parent, args: { auth: GroupAuthInput; group: Uint8Array }, context) =>
      context.groups.createGroup(args.auth, args.group),
    modifyGroup: (
      _parent,
      args: { auth: GroupAuthInput; actions: Uint8Array; inviteLinkPassword?: Uint8Array | null },
      context,
    ) => context.groups.modifyGroup(args.auth, args.actions, args.inviteLinkPassword ?? null),
  },
};
