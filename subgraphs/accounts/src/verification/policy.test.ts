import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VERIFICATION_POLICY as POLICY,
  codeRequestRefusal,
  describeSession,
  earliestNextCodeAt,
  expiriesForNewCode,
  type SessionState,
} from './policy.ts';

const MINUTE = 60_000;
const T0 = 1_764_000_000_000;

const fresh: SessionState = {
  number: '+14155550101',
  createdAt: T0,
  expiresAt: T0 + 15 * MINUTE,
  hasCode: false,
  codeExpiresAt: null,
  lastCodeAt: null,
  codesSent: 0,
  failedAttempts: 0,
  verifiedAt: null,
  consumedAt: null,
};

const withCode = (sentAt: number, codesSent = 1): SessionState => ({
  ...fresh,
  hasCode: true,
  lastCodeAt: sentAt,
  codeExpiresAt: sentAt + 10 * MINUTE,
  codesSent,
  expiresAt: sentAt + 15 * MINUTE,
});

describe('describeSession', () => {
  it('offers SMS at once and no voice call or attempt on a fresh session', () => {
    expect(describeSession(fresh, T0 + 1000, POLICY)).toEqual({
      number: '+14155550101',
      verified: false,
      allowedToRequestCode: true,
      nextSmsAt: T0 + 1000,
      nextVoiceAt: null,
      nextVerificationAttemptAt: null,
      codeExpiresAt: null,
      remainingVerificationAttempts: 5,
      expiresAt: T0 + 15 * MINUTE,
    });
  });

  it('schedules the next code and allows attempts while the code lives', () => {
    const view = describeSession(withCode(T0), T0 + 1000, POLICY);
    expect(view).toMatchObject({
      nextSmsAt: T0 + MINUTE,
      nextVoiceAt: T0 + MINUTE,
      nextVerificationAttemptAt: T0 + 1000,
      codeExpiresAt: T0 + 10 * MINUTE,
    });
    expect(describeSession(withCode(T0), T0 + 10 * MINUTE, POLICY)).toMatchObject({
      nextVerificationAttemptAt: null,
      codeExpiresAt: null,
    });
  });

  it('stops everything when locked, verified or out of codes', () => {
    const locked = describeSession({ ...withCode(T0), failedAttempts: 5 }, T0, POLICY);
    expect(locked).toMatchObject({
      allowedToRequestCode: false,
      nextSmsAt: null,
      nextVoiceAt: null,
      nextVerificationAttemptAt: null,
      remainingVerificationAttempts: 0,
    });
    const verified = describeSession({ ...withCode(T0), verifiedAt: T0 }, T0, POLICY);
    expect(verified).toMatchObject({
      verified: true,
      allowedToRequestCode: false,
      codeExpiresAt: null,
    });
    const spent = describeSession(withCode(T0, 5), T0, POLICY);
    expect(spent).toMatchObject({ allowedToRequestCode: false, nextSmsAt: null });
  });

  it('gives no next code when the schedule falls after the session expiry', () => {
    const state = { ...withCode(T0, 3), expiresAt: T0 + 4 * MINUTE };
    expect(describeSession(state, T0, POLICY).nextSmsAt).toBeNull();
  });
});

describe('schedule and expiry', () => {
  it('waits 1, 2, then 5 minutes between codes', () => {
    expect(earliestNextCodeAt(fresh, POLICY)).toBe(T0);
    expect(earliestNextCodeAt(withCode(T0, 1), POLICY)).toBe(T0 + MINUTE);
    expect(earliestNextCodeAt(withCode(T0, 2), POLICY)).toBe(T0 + 2 * MINUTE);
    expect(earliestNextCodeAt(withCode(T0, 3), POLICY)).toBe(T0 + 5 * MINUTE);
    expect(earliestNextCodeAt(withCode(T0, 4), POLICY)).toBe(T0 + 5 * MINUTE);
  });

  it('extends the session with each code, never past the absolute cap', () => {
    expect(expiriesForNewCode(fresh, T0 + MINUTE, POLICY)).toEqual({
      sessionExpiresAt: T0 + 16 * MINUTE,
      codeExpiresAt: T0 + 11 * MINUTE,
    });
    expect(expiriesForNewCode(fresh, T0 + 55 * MINUTE, POLICY)).toEqual({
      sessionExpiresAt: T0 + 60 * MINUTE,
      codeExpiresAt: T0 + 60 * MINUTE,
    });
  });

  it('says why a code cannot be sent', () => {
    expect(codeRequestRefusal(fresh, 'SMS', POLICY)).toBeNull();
    expect(codeRequestRefusal(fresh, 'VOICE', POLICY)).toBe('SMS_REQUIRED_FIRST');
    expect(codeRequestRefusal(withCode(T0), 'VOICE', POLICY)).toBeNull();
    expect(codeRequestRefusal({ ...fresh, verifiedAt: T0 }, 'SMS', POLICY)).toBe(
      'SESSION_VERIFIED',
    );
    expect(codeRequestRefusal({ ...fresh, failedAttempts: 5 }, 'SMS', POLICY)).toBe(
      'SESSION_LOCKED',
    );
    expect(codeRequestRefusal(withCode(T0, 5), 'SMS', POLICY)).toBe('CODE_LIMIT_REACHED');
  });
});
