import { randomUUID } from 'node:crypto';
import { ErrorCode, InternalError, RateLimitedError } from '@courier/errors';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimits, type CreateRateLimitsOptions } from './rate-limits.ts';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

let first: Redis;
let second: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  first = new Redis(REDIS_URL);
  second = new Redis(REDIS_URL);
});

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await first.keys(`${prefix}*`);
    if (keys.length > 0) await first.del(...keys);
  }
  await Promise.all([first.quit(), second.quit()]);
});

function uniquePrefix(): string {
  const prefix = `courier-test:limits:${randomUUID()}:`;
  prefixes.push(prefix);
  return prefix;
}

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the call to be refused'),
    (reason: unknown) => reason,
  );
}

const SMALL: CreateRateLimitsOptions['overrides'] = {
  login: { capacity: 2, periodSeconds: 60 },
  registration: { capacity: 2, periodSeconds: 60 },
};

describe('createRateLimits (Redis)', () => {
  it('refuses a full bucket with RATE_LIMITED and a retryAfter', async () => {
    const limits = createRateLimits({ redis: first, keyPrefix: uniquePrefix(), overrides: SMALL });
    await limits.consume('login', 'alice');
    await limits.consume('login', 'alice');
    const error = await refusal(limits.consume('login', 'alice'));
    expect(error).toBeInstanceOf(RateLimitedError);
    const { extensions } = error as RateLimitedError;
    expect(extensions['code']).toBe(ErrorCode.RATE_LIMITED);
    expect(extensions['retryAfter']).toBeGreaterThanOrEqual(1);
    expect(extensions['retryAfter']).toBeLessThanOrEqual(60);
  });

  it('shares one count between instances on the same Redis', async () => {
    const keyPrefix = uniquePrefix();
    const instanceA = createRateLimits({ redis: first, keyPrefix, overrides: SMALL });
    const instanceB = createRateLimits({ redis: second, keyPrefix, overrides: SMALL });
    await instanceA.consume('registration', '+15555550100');
    await instanceB.consume('registration', '+15555550100');
    expect(await refusal(instanceA.consume('registration', '+15555550100'))).toBeInstanceOf(
      RateLimitedError,
    );
    expect(await refusal(instanceB.consume('registration', '+15555550100'))).toBeInstanceOf(
      RateLimitedError,
    );

    await instanceB.reset('registration', '+15555550100');
    await instanceA.consume('registration', '+15555550100');
  });

  it('stores one expiring key per bucket and key under the prefix', async () => {
    const keyPrefix = uniquePrefix();
    const limits = createRateLimits({ redis: first, keyPrefix, overrides: SMALL });
    await limits.consume('login', 'bob');
    const keys = await first.keys(`${keyPrefix}*`);
    expect(keys).toEqual([`${keyPrefix}login:bob`]);
    const ttl = await first.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('takes several points at once', async () => {
    const limits = createRateLimits({
      redis: first,
      keyPrefix: uniquePrefix(),
      overrides: { inboundMessageBytes: { capacity: 1000, periodSeconds: 1 } },
    });
    await limits.consume('inboundMessageBytes', 'carol', 999);
    const error = await refusal(limits.consume('inboundMessageBytes', 'carol', 500));
    expect((error as RateLimitedError).extensions['retryAfter']).toBeGreaterThanOrEqual(498);
    await limits.consume('inboundMessageBytes', 'carol', 1);
  });

  it('agrees with the in-memory buckets on what to admit', async () => {
    const overrides = { messages: { capacity: 5, periodSeconds: 60 } };
    const redisLimits = createRateLimits({ redis: first, keyPrefix: uniquePrefix(), overrides });
    const memoryLimits = createRateLimits({ overrides });
    const pattern = async (limits: typeof redisLimits) => {
      const outcomes: string[] = [];
      for (const points of [1, 2, 3, 1, 1, 2]) {
        outcomes.push(
          await limits.consume('messages', 'dave', points).then(
            () => 'ok',
            (error: unknown) => (error instanceof RateLimitedError ? 'limited' : 'error'),
          ),
        );
      }
      return outcomes;
    };
    expect(await pattern(redisLimits)).toEqual(await pattern(memoryLimits));
    expect(await pattern(createRateLimits({ overrides }))).toEqual([
      'ok',
      'ok',
      'limited',
      'ok',
      'ok',
      'limited',
    ]);
  });

  it('fails open to a per-process bucket, or closed, while Redis is unreachable', async () => {
    const offline = new Redis('redis://127.0.0.1:1', { retryStrategy: () => 60_000 });
    offline.on('error', () => undefined);
    await new Promise((resolve) => offline.once('reconnecting', resolve));
    try {
      const limits = createRateLimits({
        redis: offline,
        keyPrefix: uniquePrefix(),
        overrides: SMALL,
      });
      await limits.consume('login', 'erin');
      await limits.consume('login', 'erin');
      expect(await refusal(limits.consume('login', 'erin'))).toBeInstanceOf(RateLimitedError);

      const error = await refusal(limits.consume('registration', 'erin'));
      expect(error).toBeInstanceOf(InternalError);
      expect((error as InternalError).extensions['code']).toBe(ErrorCode.INTERNAL);
    } finally {
      offline.disconnect();
    }
  });

  it('falls back when a Redis command fails', async () => {
    const broken = new Redis(REDIS_URL, { enableOfflineQueue: false, lazyConnect: true });
    try {
      const limits = createRateLimits({
        redis: broken,
        keyPrefix: uniquePrefix(),
        overrides: SMALL,
      });
      await limits.consume('login', 'frank');
      const error = await refusal(limits.consume('registration', 'frank'));
      expect(error).toBeInstanceOf(InternalError);
      expect((error as InternalError).cause).toBeInstanceOf(Error);
    } finally {
      broken.disconnect();
    }
  });
});
