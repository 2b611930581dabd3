/**
 * Phone-number verification sessions of the accounts subgraph: service, repository, code
 * senders, resolvers and permissions. Registration uses
 * {@link VerificationService.consumeVerifiedSession}.
 *
 * @packageDocumentation
 */
export { VerificationError, type VerificationRefusal } from './errors.ts';
export {
  senderFromEnv,
  verificationEnv,
  type ConfiguredSender,
  type VerificationEnv,
} from './env.ts';
export {
  HttpVerificationCodeSender,
  type HttpVerificationCodeSenderOptions,
} from './http-sender.ts';
export {
  LogVerificationCodeSender,
  VerificationOutbox,
  type LogVerificationCodeSenderOptions,
  type OutboxEntry,
} from './log-sender.ts';
export { maskPhoneNumber, normalizePhoneNumber } from './phone-number.ts';
export {
  DEFAULT_VERIFICATION_POLICY,
  type VerificationPolicy,
  type VerificationTransport,
} from './policy.ts';
export { verificationPermissions } from './permissions.ts';
export { VerificationSessionRepository } from './repository.ts';
export { verificationResolvers } from './resolvers.ts';
export { VerificationCodeHasher } from './secrets.ts';
export {
  VerificationSendError,
  type VerificationCodeMessage,
  type VerificationCodeSender,
} from './sender.ts';
export {
  VerificationService,
  type VerificationServiceOptions,
  type VerificationSessionView,
} from './service.ts';
export {
  createVerification,
  type VerificationSetup,
  type VerificationSetupOptions,
} from './setup.ts';
