import type { VerificationTransport } from './policy.ts';

/** One verification code to deliver. */
export interface VerificationCodeMessage {
  /** Recipient, E.164. */
  readonly number: string;
  /** The six-digit code. */
  readonly code: string;
  readonly transport: VerificationTransport;
  /** The client's preferred language (BCP 47), when it gave one. */
  readonly locale: string | null;
}

/**
 * Delivers verification codes (SMS or voice). Implementations: {@link LogVerificationCodeSender}
 * (development and tests) and {@link HttpVerificationCodeSender} (a real SMS gateway).
 */
export interface VerificationCodeSender {
  /**
   * Sends one code; resolves once the provider accepted it.
   * @throws VerificationSendError when it could not be handed over.
   */
  send(message: VerificationCodeMessage): Promise<void>;
}

/** A code could not be handed to the provider. */
export class VerificationSendError extends Error {
  constructor(
    message: string,
    /** The provider's HTTP status when it answered, else undefined (network error, timeout). */
    readonly status?: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'VerificationSendError';
  }
}
