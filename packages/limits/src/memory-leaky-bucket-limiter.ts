import { createRequire } from 'node:module';
import {
  RateLimiterRes,
  type RateLimiterStoreAbstract as StoreAbstractClass,
} from 'rate-limiter-flexible';
import { takePermits } from './leaky-bucket.ts';

/** Options of {@link MemoryLeakyBucketLimiter}. */
export interface MemoryLeakyBucketLimiterOptions {
  /** Key prefix (rate-limiter-flexible appends `:` and the key). */
  readonly keyPrefix: string;
  /** Bucket capacity (rate-limiter-flexible `points`). */
  readonly points: number;
  /** Seconds to drain a full bucket, capacity · period (rate-limiter-flexible `duration`). */
  readonly duration: number;
  /**
   * The clock, ms since the epoch.
   * @default Date.now
   */
  readonly now?: () => number;
}

// Typed by rate-limiter-flexible but exported only from its own file (no exports map forbids it).
const RateLimiterStoreAbstract = createRequire(import.meta.url)(
  'rate-limiter-flexible/lib/RateLimiterStoreAbstract.js',
) as typeof StoreAbstractClass;

type StoreResult = [level: number, ms: number];

const SWEEP_EVERY = 1024;

/**
 * The in-memory store of the leaky bucket: a rate-limiter-flexible store limiter (so consume,
 * refusal with `RateLimiterRes`, insurance and delete behave as with `RateLimiterRedis`) whose
 * store runs {@link takePermits} over a `Map`, the same algorithm as the Redis script. Built on the
 * store hooks (`_upsert`, `_get`, `_delete`, `_getRateLimiterRes`) of rate-limiter-flexible 11.4,
 * which is pinned; the tests cover them.
 */
export class MemoryLeakyBucketLimiter extends RateLimiterStoreAbstract {
  readonly #emptyAt = new Map<string, number>();
  readonly #now: () => number;
  #writes = 0;

  constructor(options: MemoryLeakyBucketLimiterOptions) {
    super({
      keyPrefix: options.keyPrefix,
      points: options.points,
      duration: options.duration,
      storeClient: null,
    });
    this.#now = options.now ?? Date.now;
  }

  /** Buckets currently holding permits (for tests and metrics). */
  get size(): number {
    return this.#emptyAt.size;
  }

  _upsert(
    rlKey: string,
    points: number,
    _msDuration: number,
    forceExpire = false,
  ): Promise<StoreResult> {
    if (forceExpire) {
      return Promise.reject(new Error('set() and block() are not supported by the leaky bucket'));
    }
    const now = this.#now();
    const result = takePermits(
      this.#emptyAt.get(rlKey),
      now,
      points,
      this.points,
      this.msDuration / this.points,
    );
    if (result.allowed) {
      if (result.emptyAt > now) this.#emptyAt.set(rlKey, result.emptyAt);
      else this.#emptyAt.delete(rlKey);
      this.#writes += 1;
      if (this.#writes % SWEEP_EVERY === 0) this.#sweep(now);
    }
    return Promise.resolve([result.level, result.ms]);
  }

  _get(rlKey: string): Promise<StoreResult | null> {
    const emptyAt = this.#emptyAt.get(rlKey);
    const now = this.#now();
    if (emptyAt === undefined || emptyAt <= now) return Promise.resolve(null);
    const periodMs = this.msDuration / this.points;
    return Promise.resolve([
      Math.ceil((emptyAt - now) / periodMs - 1e-9),
      Math.ceil(emptyAt - now),
    ]);
  }

  _delete(rlKey: string): Promise<boolean> {
    return Promise.resolve(this.#emptyAt.delete(rlKey));
  }

  _getRateLimiterRes(_rlKey: string, changedPoints: number, result: StoreResult): RateLimiterRes {
    const [level, ms] = result;
    return new RateLimiterRes(Math.max(this.points - level, 0), ms, level, level === changedPoints);
  }

  #sweep(now: number): void {
    for (const [key, emptyAt] of this.#emptyAt) {
      if (emptyAt <= now) this.#emptyAt.delete(key);
    }
  }
}
