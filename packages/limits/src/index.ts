export { BUCKETS, BUCKET_NAMES, type BucketConfig, type BucketName } from './buckets.ts';
export {
  createRateLimits,
  type BucketOverride,
  type CreateRateLimitsOptions,
  type RateLimits,
} from './rate-limits.ts';
export { LEAKY_BUCKET_LUA, takePermits, type TakeResult } from './leaky-bucket.ts';
export {
  MemoryLeakyBucketLimiter,
  type MemoryLeakyBucketLimiterOptions,
} from './memory-leaky-bucket-limiter.ts';
