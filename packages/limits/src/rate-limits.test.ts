import { ErrorCode, RateLimitedError } from '@courier/errors';
import { describe, expect, it } from 'vitest';
import { BUCKETS, BUCKET_NAMES } from './buckets.ts';
import { createRateLimits, type RateLimits } from './rate-limits.ts';

/** A clock the test moves by hand. */
function manualClock(start = 1_767_225_600_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

async function refusal(promise: Promise<unknown>): Promise<RateLimitedError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(RateLimitedError);
  return error as RateLimitedError;
}

async function admitted(limits: RateLimits, bucket: 'login', key: string, tries: number) {
  let count = 0;
  for (let i = 0; i < tries; i += 1) {
    try {
      await limits.consume(bucket, key);
      count += 1;
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
    }
  }
  return count;
}

describe('createRateLimits (memory)', () => {
  it('refuses once the bucket is full, with RATE_LIMITED and the time until a permit drains', async () => {
    const clock = manualClock();
    const limits = createRateLimits({
      now: clock.now,
      overrides: { login: { capacity: 3, periodSeconds: 20 } },
    });
    for (let i = 0; i < 3; i += 1) await limits.consume('login', 'alice');
    const error = await refusal(limits.consume('login', 'alice'));
    expect(error.extensions['code']).toBe(ErrorCode.RATE_LIMITED);
    expect(error.extensions['retryAfter']).toBe(20);

    clock.advance(15_000);
    expect((await refusal(limits.consume('login', 'alice'))).extensions['retryAfter']).toBe(5);
  });

  it('leaks one permit per period instead of resetting a window', async () => {
    const clock = manualClock();
    const limits = createRateLimits({
      now: clock.now,
      overrides: { login: { capacity: 6, periodSeconds: 30 } },
    });
    expect(await admitted(limits, 'login', 'bob', 10)).toBe(6);
    clock.advance(30_000);
    expect(await admitted(limits, 'login', 'bob', 10)).toBe(1);
    clock.advance(90_000);
    expect(await admitted(limits, 'login', 'bob', 10)).toBe(3);
    clock.advance(179_999);
    expect(await admitted(limits, 'login', 'bob', 10)).toBe(5);
    clock.advance(1);
    expect(await admitted(limits, 'login', 'bob', 10)).toBe(1);
    clock.advance(10 * 180_000);
    expect(await admitted(limits, 'login', 'bob', 10)).toBe(6);
  });

  it('does not let refused attempts extend the wait', async () => {
    const clock = manualClock();
    const limits = createRateLimits({
      now: clock.now,
      overrides: { login: { capacity: 2, periodSeconds: 10 } },
    });
    expect(await admitted(limits, 'login', 'carol', 100)).toBe(2);
    clock.advance(10_000);
    await limits.consume('login', 'carol');
  });

  it('keeps keys and buckets apart', async () => {
    const limits = createRateLimits({
      overrides: {
        login: { capacity: 1, periodSeconds: 60 },
        registration: { capacity: 1, periodSeconds: 60 },
      },
    });
    await limits.consume('login', 'dave');
    await limits.consume('login', 'erin');
    await limits.consume('registration', 'dave');
    await refusal(limits.consume('login', 'dave'));
    await refusal(limits.consume('registration', 'dave'));
  });

  it('consumes several points at once and checks their range', async () => {
    const clock = manualClock();
    const limits = createRateLimits({
      now: clock.now,
      overrides: { inboundMessageBytes: { capacity: 1000, periodSeconds: 0.01 } },
    });
    await limits.consume('inboundMessageBytes', 'frank', 600);
    await limits.consume('inboundMessageBytes', 'frank', 400);
    const error = await refusal(limits.consume('inboundMessageBytes', 'frank', 200));
    expect(error.extensions['retryAfter']).toBe(2);
    clock.advance(2_000);
    await limits.consume('inboundMessageBytes', 'frank', 200);

    await expect(limits.consume('inboundMessageBytes', 'frank', 1001)).rejects.toThrow(RangeError);
    await expect(limits.consume('inboundMessageBytes', 'frank', 0)).rejects.toThrow(RangeError);
    await expect(limits.consume('inboundMessageBytes', 'frank', 1.5)).rejects.toThrow(RangeError);
  });

  it('reset() empties a bucket', async () => {
    const limits = createRateLimits({ overrides: { pin: { capacity: 1 } } });
    await limits.consume('pin', '+15555550100');
    await refusal(limits.consume('pin', '+15555550100'));
    await limits.reset('pin', '+15555550100');
    await limits.consume('pin', '+15555550100');
  });

  it('applies partial overrides and validates them', () => {
    const limits = createRateLimits({ overrides: { messages: { capacity: 5 } } });
    expect(limits.config('messages')).toEqual({ capacity: 5, periodSeconds: 1, failOpen: true });
    expect(limits.config('prekeys')).toEqual(BUCKETS.prekeys);

    expect(() => createRateLimits({ overrides: { login: { capacity: 0 } } })).toThrow(RangeError);
    expect(() => createRateLimits({ overrides: { login: { capacity: 2.5 } } })).toThrow(RangeError);
    expect(() => createRateLimits({ overrides: { login: { periodSeconds: -1 } } })).toThrow(
      RangeError,
    );
    expect(() =>
      createRateLimits({ overrides: { login: { capacity: 1, periodSeconds: 0.5 } } }),
    ).toThrow(RangeError);
    expect(() =>
      createRateLimits({ overrides: { logn: { capacity: 1 } } as Record<string, object> }),
    ).toThrow(/Unknown rate-limit bucket "logn"/);
  });

  it('rejects an unknown bucket name at run time', async () => {
    const limits = createRateLimits();
    await expect(limits.consume('nope' as 'login', 'x')).rejects.toThrow(RangeError);
  });

  it("has Signal's buckets with Signal's values", () => {
    expect(BUCKETS).toMatchObject({
      registration: { capacity: 6, periodSeconds: 30 },
      verificationCaptcha: { capacity: 10, periodSeconds: 30 },
      verificationPushChallenge: { capacity: 5, periodSeconds: 30 },
      prekeys: { capacity: 6, periodSeconds: 600 },
      messages: { capacity: 60, periodSeconds: 1 },
      inboundMessageBytes: { capacity: 128 * 1024 * 1024, periodSeconds: 0.0005 },
      profile: { capacity: 4320, periodSeconds: 20 },
      attachmentCreate: { capacity: 50, periodSeconds: 1.2 },
      allocateDevice: { capacity: 6, periodSeconds: 120 },
      verifyDevice: { capacity: 6, periodSeconds: 120 },
      waitForLinkedDevice: { capacity: 10, periodSeconds: 30 },
      usernameReserve: { capacity: 100, periodSeconds: 900 },
      usernameSet: { capacity: 100, periodSeconds: 900 },
      usernameLookup: { capacity: 100, periodSeconds: 900 },
      checkAccountExistence: { capacity: 1000, periodSeconds: 4 },
      pin: { capacity: 10, periodSeconds: 86_400 },
    });
    expect(BUCKET_NAMES).toEqual(
      expect.arrayContaining([
        'login',
        'verificationCodeRequest',
        'verificationCodeRequestPerSession',
        'verificationCodeSubmit',
        'verificationCodeSubmitPerSession',
      ]),
    );
    expect(() => createRateLimits()).not.toThrow();
  });
});

describe('RateLimits.setOverrides (live configuration)', () => {
  it('applies new bucket shapes from the next request, all or nothing', async () => {
    const clock = manualClock();
    const limits = createRateLimits({ now: clock.now });
    expect(await admitted(limits, 'login', 'device', 3)).toBe(3);
    limits.setOverrides({ login: { capacity: 1 } });
    expect(limits.config('login').capacity).toBe(1);
    expect(await admitted(limits, 'login', 'other', 3)).toBe(1);
    expect(() => limits.setOverrides({ login: { capacity: 5 }, nope: {} } as never)).toThrow(
      RangeError,
    );
    expect(() => limits.setOverrides({ login: { capacity: 0 } })).toThrow(RangeError);
    expect(limits.config('login').capacity).toBe(1);
    limits.setOverrides({});
    expect(limits.config('login')).toEqual(BUCKETS.login);
    expect(await admitted(limits, 'login', 'third', 3)).toBe(3);
  });
});
