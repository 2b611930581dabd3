import { Redis } from 'ioredis';

/**
 * Deletes the shared copies of device credential ids (`<prefix>credential:*`, written by
 * `packages/server/src/credentials.ts`) after a restore: a copy written after the backup was taken
 * would name a credential the restored database does not have, and refuse that device's tokens
 * until it expires (up to 24 h). Missing copies are read again from the accounts database. Nothing
 * else in Redis needs attention: pub/sub keeps nothing, and rate-limit buckets only refill.
 * Resolves with how many keys were deleted.
 */
export async function clearCredentialCopies(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    let deleted = 0;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}credential:*`;
    for await (const keys of redis.scanStream({ match: pattern, count: 500 })) {
      if ((keys as string[]).length > 0) deleted += await redis.unlink(...(keys as string[]));
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}
