import { allow, isAuthenticated, isPublic } from '@courier/server';

export const permissions = {
  Query: {
    senderCertificate: isAuthenticated,
    senderCertificateTrustRoot: isPublic,
    envelopes: isAuthenticated,
  },
  // sendMessage is public at the edge: sealed senders present an unidentified access key and the
  // service decides access.
  Mutation: {
    sendMessage: isPublic,
    sendMultiRecipientMessage: isPublic,
    acknowledgeEnvelopes: isAuthenticated,
  },
  Subscription: { envelopes: isAuthenticated },
  Envelope: allow,
  QueueEmpty: allow,
  SendMessageSuccess: allow,
  SenderCertificateResult: allow,
  MismatchedDevices: allow,
  StaleDevices: allow,
  EnvelopePage: allow,
  MultiRecipientMessageSuccess: allow,
  MultiRecipientMismatchedDevices: allow,
  MultiRecipientStaleDevices: allow,
  RecipientMismatchedDevices: allow,
  RecipientStaleDevices: allow,
};
