const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Timings and thresholds of verification sessions (all durations in milliseconds). */
export interface VerificationPolicy {
  /** How long a code can be submitted after it was sent. */
  readonly codeTtlMs: number;
  /** A session expires this long after its creation or its last code, whichever is later. */
  readonly sessionIdleTtlMs: number;
  /** No unverified session lives longer than this after its creation, whatever happens. */
  readonly sessionMaxLifetimeMs: number;
  /** How long a verified session stays usable for registration. */
  readonly verifiedSessionTtlMs: number;
  /** Wrong codes after which the session locks for good. */
  readonly maxFailedAttempts: number;
  /** Codes (SMS and voice together) one session may send. */
  readonly maxCodesPerSession: number;
  /**
   * Wait before the next code, indexed by codes already sent minus one (the last entry repeats):
   * after the first code the client waits `[0]`, after the second `[1]`, ...
   */
  readonly resendDelaysMs: readonly number[];
}

/**
 * Defaults: codes live 10 minutes; a session 15 minutes after its creation or last code (so a
 * client sees its code expire and can ask for another in the same session, keeping its
 * counters), at most 1 hour unverified; a verified session 10 minutes; 5 wrong codes lock the session; 5 codes per
 * session, resent after 1, 2, then 5 minutes. Voice is offered only after a first code was sent
 * (as Signal does: SMS first).
 */
export const DEFAULT_VERIFICATION_POLICY: VerificationPolicy = Object.freeze({
  codeTtlMs: 10 * MINUTE,
  sessionIdleTtlMs: 15 * MINUTE,
  sessionMaxLifetimeMs: 60 * MINUTE,
  verifiedSessionTtlMs: 10 * MINUTE,
  maxFailedAttempts: 5,
  maxCodesPerSession: 5,
  resendDelaysMs: Object.freeze([1 * MINUTE, 2 * MINUTE, 5 * MINUTE]),
});

/** A session's state as stored (times in ms since the epoch). */
export interface SessionState {
  readonly number: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly hasCode: boolean;
  readonly codeExpiresAt: number | null;
  readonly lastCodeAt: number | null;
  readonly codesSent: number;
  readonly failedAttempts: number;
  readonly verifiedAt: number | null;
  readonly consumedAt: number | null;
}

/** What clients see of a session (the GraphQL `VerificationSession`, less its id). */
export interface SessionMetadata {
  readonly number: string;
  readonly verified: boolean;
  readonly allowedToRequestCode: boolean;
  readonly nextSmsAt: number | null;
  readonly nextVoiceAt: number | null;
  readonly nextVerificationAttemptAt: number | null;
  readonly codeExpiresAt: number | null;
  readonly remainingVerificationAttempts: number;
  readonly expiresAt: number;
}

/** Which transports a code may be sent by. */
export type VerificationTransport = 'SMS' | 'VOICE';

/** Whether the session can no longer be used at all (expired or already used by registration). */
export function isGone(state: SessionState, now: number): boolean {
  return now >= state.expiresAt || state.consumedAt !== null;
}

/** Whether wrong codes have locked the session. */
export function isLocked(state: SessionState, policy: VerificationPolicy): boolean {
  return state.failedAttempts >= policy.maxFailedAttempts;
}

/** Why no code may be sent now, ignoring the resend schedule; null when one may. */
export function codeRequestRefusal(
  state: SessionState,
  transport: VerificationTransport,
  policy: VerificationPolicy,
): 'SESSION_VERIFIED' | 'SESSION_LOCKED' | 'CODE_LIMIT_REACHED' | 'SMS_REQUIRED_FIRST' | null {
  if (state.verifiedAt !== null) return 'SESSION_VERIFIED';
  if (isLocked(state, policy)) return 'SESSION_LOCKED';
  if (state.codesSent >= policy.maxCodesPerSession) return 'CODE_LIMIT_REACHED';
  if (transport === 'VOICE' && state.codesSent === 0) return 'SMS_REQUIRED_FIRST';
  return null;
}

/** Earliest time (ms) the session's schedule allows another code, whatever the transport. */
export function earliestNextCodeAt(state: SessionState, policy: VerificationPolicy): number {
  if (state.lastCodeAt === null || state.codesSent === 0) return state.createdAt;
  const delays = policy.resendDelaysMs;
  const delay = delays[Math.min(state.codesSent, delays.length) - 1] ?? 0;
  return state.lastCodeAt + delay;
}

/** Expiry of a session that sends a code at `now`, and of that code. */
export function expiriesForNewCode(
  state: SessionState,
  now: number,
  policy: VerificationPolicy,
): { readonly sessionExpiresAt: number; readonly codeExpiresAt: number } {
  const sessionExpiresAt = Math.min(
    now + policy.sessionIdleTtlMs,
    state.createdAt + policy.sessionMaxLifetimeMs,
  );
  return { sessionExpiresAt, codeExpiresAt: Math.min(now + policy.codeTtlMs, sessionExpiresAt) };
}

/**
 * The client's view of a session at `now`, in the spirit of Signal's session metadata: each
 * `next…At` is the earliest time the action is allowed (`now` when it is allowed at once) or
 * null when it will not be allowed in this session. Rate limits per number may still refuse a
 * request the session allows.
 */
export function describeSession(
  state: SessionState,
  now: number,
  policy: VerificationPolicy,
): SessionMetadata {
  const gone = isGone(state, now);
  const verified = state.verifiedAt !== null;
  const locked = isLocked(state, policy);
  const allowedToRequestCode = !gone && codeRequestRefusal(state, 'SMS', policy) === null;
  const next = Math.max(now, earliestNextCodeAt(state, policy));
  const nextCode = allowedToRequestCode && next < state.expiresAt ? next : null;
  const codeLive =
    !gone &&
    !verified &&
    state.hasCode &&
    state.codeExpiresAt !== null &&
    now < state.codeExpiresAt;
  return {
    number: state.number,
    verified,
    allowedToRequestCode,
    nextSmsAt: nextCode,
    nextVoiceAt: state.codesSent > 0 ? nextCode : null,
    nextVerificationAttemptAt: codeLive && !locked ? now : null,
    codeExpiresAt: codeLive ? state.codeExpiresAt : null,
    remainingVerificationAttempts: Math.max(0, policy.maxFailedAttempts - state.failedAttempts),
    expiresAt: state.expiresAt,
  };
}
