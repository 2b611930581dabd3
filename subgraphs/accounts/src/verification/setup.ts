import type { Logger } from '@courier/logging';
import type { SubgraphRuntime } from '@courier/server';
import { senderFromEnv } from './env.ts';
import { LogVerificationCodeSender, type VerificationOutbox } from './log-sender.ts';
import type { VerificationPolicy } from './policy.ts';
import { VerificationSessionRepository } from './repository.ts';
import { VerificationCodeHasher } from './secrets.ts';
import type { VerificationCodeSender } from './sender.ts';
import { VerificationService } from './service.ts';

/** Verification settings of `createAccountsServer` (all optional). */
export interface VerificationSetupOptions {
  /**
   * Where codes go. Unset: chosen by `VERIFICATION_SENDER` (default `log`, see `verificationEnv`).
   * Tests pass a {@link LogVerificationCodeSender} (or leave it unset) and read its outbox.
   */
  readonly verificationSender?: VerificationCodeSender;
  /** Changes to the default timings and thresholds. */
  readonly verificationPolicy?: Partial<VerificationPolicy>;
  /** Clock of the verification service, ms since the epoch. @default Date.now */
  readonly verificationClock?: () => number;
  /**
   * Secret the code HMAC key is derived from (≥ 32 characters, the same on every instance).
   * @default the runtime's router secret
   */
  readonly verificationCodeSecret?: string;
}

/** The verification service of an accounts server, and the outbox when codes go to the log. */
export interface VerificationSetup {
  readonly service: VerificationService;
  readonly outbox: VerificationOutbox | undefined;
}

/**
 * Builds the verification service on a runtime.
 * @throws ConfigError when no sender is given and the `VERIFICATION_*` environment is invalid.
 */
export function createVerification(
  runtime: SubgraphRuntime,
  logger: Logger,
  options: VerificationSetupOptions = {},
): VerificationSetup {
  const chosen = options.verificationSender
    ? {
        sender: options.verificationSender,
        outbox:
          options.verificationSender instanceof LogVerificationCodeSender
            ? options.verificationSender.outbox
            : undefined,
      }
    : senderFromEnv({ logger, production: runtime.production });
  const service = new VerificationService({
    repository: new VerificationSessionRepository(runtime.prisma),
    sender: chosen.sender,
    hasher: new VerificationCodeHasher(options.verificationCodeSecret ?? runtime.routerSecret),
    limits: runtime.limits,
    logger,
    ...(options.verificationPolicy ? { policy: options.verificationPolicy } : {}),
    ...(options.verificationClock ? { now: options.verificationClock } : {}),
  });
  return { service, outbox: chosen.outbox };
}
