import { ConflictError } from '@courier/errors';
import {
  Base64Scalar,
  envelopeMetrics,
  mapAsyncIterator,
  type GraphQLResolverMap,
  TimestampScalar,
  requireDevice,
} from '@courier/server';
import type { MessagesContext } from '../context.ts';
import type { EnvelopeEventModel } from '../services/envelope-model.ts';
import type {
  MultiRecipientSendInput,
  MultiRecipientSendResult,
} from '../services/multi-recipient-service.ts';
import type {
  MessageAccess,
  SendMessageInput,
  SendMessageResult,
} from '../services/send-service.ts';

/** What `Subscription.envelopes` sends for an event of a device's stream. */
function envelopeEventValue(event: EnvelopeEventModel): EnvelopeEventModel | ConflictError {
  if (event.__typename === 'Replaced') {
    return new ConflictError('This device opened a newer envelope stream; this one ended');
  }
  if (event.__typename === 'Envelope') envelopeMetrics.delivered.inc();
  return event;
}

export const resolvers: GraphQLResolverMap<MessagesContext> = {
  Base64: Base64Scalar,
  Timestamp: TimestampScalar,
  EnvelopeEvent: {
    __resolveType: (event: EnvelopeEventModel) => event.__typename,
  },
  SendMessageResult: {
    __resolveType: (result: SendMessageResult) => result.__typename,
  },
  SendMultiRecipientMessageResult: {
    __resolveType: (result: MultiRecipientSendResult) => result.__typename,
  },
  Query: {
    senderCertificate: (
      _parent,
      args: { includeNumber?: boolean | null },
      context: MessagesContext,
    ) => context.certificates.issue(requireDevice(context), args.includeNumber ?? false),
    senderCertificateTrustRoot: (_parent, _args, context: MessagesContext) =>
      context.certificates.trustRoot(),
    envelopes: (
      _parent,
      args: { limit?: number | null; waitSeconds?: number | null },
      context: MessagesContext,
    ) => context.delivery.poll(requireDevice(context), args.limit ?? 100, args.waitSeconds ?? 0),
  },
  Mutation: {
    sendMessage: (
      _parent,
      args: { destination: string; input: SendMessageInput; access?: MessageAccess | null },
      context: MessagesContext,
    ) => context.sender.sendAs(context.auth, args.destination, args.input, args.access),
    sendMultiRecipientMessage: (
      _parent,
      args: MultiRecipientSendInput & { access?: MessageAccess | null },
      context: MessagesContext,
    ) =>
      context.multiRecipient.send(context.auth, {
        ...args,
        unidentifiedAccessKey: args.access?.unidentifiedAccessKey ?? null,
      }),
    acknowledgeEnvelopes: (_parent, args: { guids: string[] }, context: MessagesContext) =>
      context.delivery.acknowledge(requireDevice(context), args.guids),
  },
  Subscription: {
    envelopes: {
      // Payloads carry the field's value (no per-event resolver), so the permission rule guards
      // `subscribe` once instead of wrapping every event; a returned error is a field error.
      subscribe: async (_parent: unknown, _args: unknown, context: MessagesContext) =>
        mapAsyncIterator(await context.delivery.stream(requireDevice(context)), (event) => ({
          envelopes: envelopeEventValue(event),
        })),
    },
  },
};
