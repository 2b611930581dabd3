import { InternalError, RateLimitedError } from '@courier/errors';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { BUCKET_NAMES, BUCKETS, type BucketConfig, type BucketName } from './buckets.ts';
import { LEAKY_BUCKET_LUA } from './leaky-bucket.ts';
import { MemoryLeakyBucketLimiter } from './memory-leaky-bucket-limiter.ts';

/** Changes to a bucket's defaults; unset fields keep the default. */
export type BucketOverride = Partial<BucketConfig>;

/** Options of {@link createRateLimits}. */
export interface CreateRateLimitsOptions {
  /**
   * An ioredis client to keep the buckets in, shared by every instance using the same Redis and
   * `keyPrefix`. Without one the buckets live in this process's memory (single-node mode).
   * rate-limiter-flexible registers its script on the client as the command `rlflxIncr`, so do not
   * build other `RateLimiterRedis` instances on the same client: the last script registered wins.
   * @default undefined
   */
  readonly redis?: Redis | undefined;
  /**
   * Prefix of the Redis keys, followed by the bucket name, `:` and the key.
   * @default 'courier:limits:'
   */
  readonly keyPrefix?: string;
  /** Per-bucket changes to {@link BUCKETS}, for operators and tests. */
  readonly overrides?: Partial<Record<BucketName, BucketOverride>>;
  /**
   * Clock of the in-memory buckets, ms since the epoch (Redis buckets use the Redis server's
   * clock).
   * @default Date.now
   */
  readonly now?: () => number;
  /** Called with the bucket's name whenever a request is refused (metrics). */
  readonly onRejected?: (bucket: BucketName) => void;
}

/** Named leaky-bucket rate limits (see {@link BUCKETS}). */
export interface RateLimits {
  /**
   * Takes `points` permits from the bucket `bucket` of `key`.
   *
   * @throws RateLimitedError (`RATE_LIMITED`, `retryAfter` ≥ 1 s: when the request would fit)
   * when the bucket is full; nothing is taken then.
   * @throws InternalError when Redis fails and the bucket does not fail open.
   * @throws RangeError when `points` is not a whole number between 1 and the capacity.
   */
  consume(bucket: BucketName, key: string, points?: number): Promise<void>;
  /** Empties the bucket `bucket` of `key` (e.g. after a successful verification). */
  reset(bucket: BucketName, key: string): Promise<void>;
  /** The effective configuration of a bucket (defaults with overrides applied). */
  config(bucket: BucketName): BucketConfig;
  /**
   * Replaces the overrides (live configuration): every bucket takes its default with the new
   * override applied, from the next `consume` on. Buckets whose shape did not change keep their
   * limiter. All or nothing: an unknown bucket or an invalid value throws and changes nothing.
   *
   * @throws RangeError as {@link createRateLimits} for invalid overrides.
   */
  setOverrides(overrides: Partial<Record<BucketName, BucketOverride>>): void;
}

/**
 * Creates Courier's rate limits, on Redis when `redis` is given, else in memory.
 *
 * Each bucket is a leaky bucket as Signal has them: room for `capacity` permits, one drains every
 * `periodSeconds`. rate-limiter-flexible's own limiters count in fixed windows; mapping a bucket
 * onto one as `points = capacity, duration = capacity · period` keeps the long-run rate and the
 * burst but lets a client spend twice the capacity around a window boundary and, once refused,
 * makes it wait up to the whole window instead of one period. So the buckets keep
 * rate-limiter-flexible's limiter API and Redis plumbing (`RateLimiterRedis`, atomic Lua via
 * `customIncrTtlLuaScript`, insurance limiter, key prefixes) but replace its counter by a GCRA
 * leaky bucket ({@link LEAKY_BUCKET_LUA}; in memory {@link MemoryLeakyBucketLimiter}):
 * `points = capacity` and `duration = capacity · period` only describe the bucket to the script.
 * A refused request costs nothing and its `retryAfter` is the time until it would fit.
 *
 * With Redis, a bucket that fails open falls back to an in-memory bucket of the same shape when
 * Redis fails (rate-limiter-flexible's `insuranceLimiter`) and, without waiting, while the client
 * is reconnecting or closed; the other buckets fail with `INTERNAL` then. A client still making its
 * first connection is waited for (ioredis queues the command).
 *
 * @throws RangeError when an override is invalid (capacity not a positive integer, period not
 * positive, or capacity · period under one second, which the Redis path cannot express).
 */
export function createRateLimits(options: CreateRateLimitsOptions = {}): RateLimits {
  const keyPrefix = options.keyPrefix ?? 'courier:limits:';
  const configs = new Map<BucketName, BucketConfig>();
  const limiters = new Map<BucketName, RateLimiterAbstract>();
  const insurance = new Map<BucketName, MemoryLeakyBucketLimiter>();

  const build = (bucket: BucketName, config: BucketConfig) => {
    const shape = {
      keyPrefix: `${keyPrefix}${bucket}`,
      points: config.capacity,
      duration: config.capacity * config.periodSeconds,
    };
    const inMemory = () => new MemoryLeakyBucketLimiter({ ...shape, now: options.now ?? Date.now });
    configs.set(bucket, config);
    insurance.delete(bucket);
    if (!options.redis) {
      limiters.set(bucket, inMemory());
      return;
    }
    const fallback = config.failOpen ? inMemory() : undefined;
    if (fallback) insurance.set(bucket, fallback);
    limiters.set(
      bucket,
      new RateLimiterRedis({
        ...shape,
        storeClient: options.redis,
        customIncrTtlLuaScript: LEAKY_BUCKET_LUA,
        insuranceLimiter: fallback,
      }),
    );
  };
  const resolveAll = (overrides: Partial<Record<BucketName, BucketOverride>>) => {
    for (const name of Object.keys(overrides)) {
      if (!Object.hasOwn(BUCKETS, name)) {
        throw new RangeError(`Unknown rate-limit bucket "${name}"`);
      }
    }
    return BUCKET_NAMES.map(
      (bucket) => [bucket, resolveConfig(bucket, overrides[bucket])] as const,
    );
  };
  for (const [bucket, config] of resolveAll(options.overrides ?? {})) build(bucket, config);

  function configOf(bucket: BucketName): BucketConfig {
    const config = configs.get(bucket);
    if (!config) throw new RangeError(`Unknown rate-limit bucket "${String(bucket)}"`);
    return config;
  }

  function limiterOf(bucket: BucketName): RateLimiterAbstract {
    const limiter = limiters.get(bucket);
    if (!limiter) throw new RangeError(`Unknown rate-limit bucket "${String(bucket)}"`);
    return limiter;
  }

  function liveLimiterOf(bucket: BucketName): RateLimiterAbstract {
    const limiter = limiterOf(bucket);
    if (!options.redis || !UNAVAILABLE.has(options.redis.status)) return limiter;
    const fallback = insurance.get(bucket);
    if (!fallback) throw new InternalError('Rate limiter unavailable: Redis is disconnected');
    return fallback;
  }

  return {
    async consume(bucket, key, points = 1) {
      const { capacity } = configOf(bucket);
      if (!Number.isSafeInteger(points) || points < 1 || points > capacity) {
        throw new RangeError(
          `points must be a whole number from 1 to ${capacity} for bucket "${bucket}"`,
        );
      }
      const limiter = liveLimiterOf(bucket);
      try {
        await limiter.consume(key, points);
      } catch (error) {
        if (error instanceof RateLimiterRes) {
          options.onRejected?.(bucket);
          throw new RateLimitedError(error.msBeforeNext / 1000);
        }
        throw new InternalError('Rate limiter unavailable', { cause: error });
      }
    },

    async reset(bucket, key) {
      const limiter = limiterOf(bucket);
      try {
        await Promise.all([limiter.delete(key), insurance.get(bucket)?.delete(key)]);
      } catch (error) {
        throw new InternalError('Rate limiter unavailable', { cause: error });
      }
    },

    config: configOf,

    setOverrides(overrides) {
      for (const [bucket, config] of resolveAll(overrides)) {
        const current = configs.get(bucket);
        if (
          current?.capacity !== config.capacity ||
          current.periodSeconds !== config.periodSeconds ||
          current.failOpen !== config.failOpen
        ) {
          build(bucket, config);
        }
      }
    },
  };
}

/** ioredis states in which a command would wait for a reconnection, or fail. */
const UNAVAILABLE = new Set(['reconnecting', 'close', 'end']);

function resolveConfig(bucket: BucketName, override: BucketOverride | undefined): BucketConfig {
  const config: BucketConfig = { ...BUCKETS[bucket], ...override };
  const { capacity, periodSeconds, failOpen } = config;
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`Rate-limit bucket "${bucket}": capacity must be a positive integer`);
  }
  if (!Number.isFinite(periodSeconds) || periodSeconds <= 0) {
    throw new RangeError(`Rate-limit bucket "${bucket}": periodSeconds must be positive`);
  }
  if (capacity * periodSeconds < 1) {
    throw new RangeError(
      `Rate-limit bucket "${bucket}": capacity × periodSeconds must be at least 1 second`,
    );
  }
  if (typeof failOpen !== 'boolean') {
    throw new RangeError(`Rate-limit bucket "${bucket}": failOpen must be a boolean`);
  }
  return Object.freeze(config);
}
