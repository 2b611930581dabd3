import { CourierError, ErrorCode } from '@courier/errors';

/**
 * Why a verification operation was refused, sent as `extensions.reason` next to
 * `extensions.code` so that clients can tell the cases apart.
 */
export type VerificationRefusal =
  /** `BAD_USER_INPUT`: the code does not match; `extensions.remainingAttempts` says how many tries are left. */
  | 'INCORRECT_CODE'
  /** `BAD_USER_INPUT`: the session's code expired; request a new one. */
  | 'CODE_EXPIRED'
  /** `CONFLICT`: no code was requested in this session yet. */
  | 'NO_CODE_REQUESTED'
  /** `CONFLICT`: too many wrong codes; the session can no longer be verified. */
  | 'SESSION_LOCKED'
  /** `CONFLICT`: the session is already verified. */
  | 'SESSION_VERIFIED'
  /** `CONFLICT`: this session sent as many codes as it may. */
  | 'CODE_LIMIT_REACHED'
  /** `CONFLICT`: a voice call is offered only after a first code was sent by SMS. */
  | 'SMS_REQUIRED_FIRST'
  /** `BAD_USER_INPUT`: registration was attempted with a session that is not verified. */
  | 'SESSION_NOT_VERIFIED';

const MESSAGES: Record<VerificationRefusal, string> = {
  INCORRECT_CODE: 'Incorrect verification code',
  CODE_EXPIRED: 'The verification code expired; request a new one',
  NO_CODE_REQUESTED: 'No verification code was requested in this session',
  SESSION_LOCKED: 'Too many incorrect codes: this verification session is locked',
  SESSION_VERIFIED: 'This verification session is already verified',
  CODE_LIMIT_REACHED: 'This verification session cannot send more codes',
  SMS_REQUIRED_FIRST: 'Request a code by SMS before asking for a voice call',
  SESSION_NOT_VERIFIED: 'The verification session is not verified',
};

const CODES: Record<VerificationRefusal, ErrorCode> = {
  INCORRECT_CODE: ErrorCode.BAD_USER_INPUT,
  CODE_EXPIRED: ErrorCode.BAD_USER_INPUT,
  SESSION_NOT_VERIFIED: ErrorCode.BAD_USER_INPUT,
  NO_CODE_REQUESTED: ErrorCode.CONFLICT,
  SESSION_LOCKED: ErrorCode.CONFLICT,
  SESSION_VERIFIED: ErrorCode.CONFLICT,
  CODE_LIMIT_REACHED: ErrorCode.CONFLICT,
  SMS_REQUIRED_FIRST: ErrorCode.CONFLICT,
};

/** A refused verification step: `extensions.code` from the closed set plus `extensions.reason`. */
export class VerificationError extends CourierError {
  constructor(
    readonly reason: VerificationRefusal,
    extensions: Record<string, unknown> = {},
  ) {
    super(CODES[reason], MESSAGES[reason], { ...extensions, reason });
    this.name = 'VerificationError';
  }
}
