import { allow, isAuthenticated } from '@courier/server';

export const permissions = {
  Mutation: { sendMessage: isAuthenticated, acknowledgeEnvelopes: isAuthenticated },
  Subscription: { envelopes: isAuthenticated },
  Envelope: allow,
  QueueEmpty: allow,
  SendMessageSuccess: allow,
  MismatchedDevices: allow,
  StaleDevices: allow,
};
