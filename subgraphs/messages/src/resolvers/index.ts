import {
  Base64Scalar,
  type GraphQLResolverMap,
  TimestampScalar,
  requireDevice,
} from '@courier/server';
import type { MessagesContext } from '../context.ts';
import type { EnvelopeEventModel } from '../services/envelope-model.ts';

export const resolvers: GraphQLResolverMap<MessagesContext> = {
  Base64: Base64Scalar,
  Timestamp: TimestampScalar,
  EnvelopeEvent: {
    __resolveType: (event: EnvelopeEventModel) => event.__typename,
  },
  Subscription: {
    envelopes: {
      subscribe: (_parent: unknown, _args: unknown, context: MessagesContext) =>
        context.delivery.stream(requireDevice(context)),
      resolve: (event: EnvelopeEventModel) => event,
    },
  },
};
