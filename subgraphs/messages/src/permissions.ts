import { allow, isAuthenticated } from '@courier/server';

export const permissions = {
  Subscription: { envelopes: isAuthenticated },
  Envelope: allow,
  QueueEmpty: allow,
};
