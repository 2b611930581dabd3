import {
  Base64Scalar,
  type GraphQLResolverMap,
  TimestampScalar,
  requireDevice,
} from '@courier/server';
import type { MessagesContext } from '../context.ts';
import type { EnvelopeEventModel } from '../services/envelope-model.ts';
import type {
  MessageAccess,
  SendMessageInput,
  SendMessageResult,
} from '../services/send-service.ts';

export const resolvers: GraphQLResolverMap<MessagesContext> = {
  Base64: Base64Scalar,
  Timestamp: TimestampScalar,
  EnvelopeEvent: {
    __resolveType: (event: EnvelopeEventModel) => event.__typename,
  },
  SendMessageResult: {
    __resolveType: (result: SendMessageResult) => result.__typename,
  },
  Query: {
    senderCertificate: (
      _parent,
      args: { includeNumber?: boolean | null },
      context: MessagesContext,
    ) => context.certificates.issue(requireDevice(context), args.includeNumber ?? false),
    senderCertificateTrustRoot: (_parent, _args, context: MessagesContext) =>
      context.certificates.trustRoot(),
  },
  Mutation: {
    sendMessage: (
      _parent,
      args: { destination: string; input: SendMessageInput; access?: MessageAccess | null },
      context: MessagesContext,
    ) => context.sender.sendAs(context.auth, args.destination, args.input, args.access),
    acknowledgeEnvelopes: (_parent, args: { guids: string[] }, context: MessagesContext) =>
      context.delivery.acknowledge(requireDevice(context), args.guids),
  },
  Subscription: {
    envelopes: {
      subscribe: (_parent: unknown, _args: unknown, context: MessagesContext) =>
        context.delivery.stream(requireDevice(context)),
      resolve: (event: EnvelopeEventModel) => event,
    },
  },
};
