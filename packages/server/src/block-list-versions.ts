import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Version tokens of accounts' block lists, shared by every instance: the accounts subgraph
 * replaces a blocker's token after every committed change of the blocker's list, and readers
 * ({@link AccountsClient.isBlocked}) reuse a list they cached only while its token is unchanged.
 * A token is a random string that is never reused, so "same token" means "no change committed
 * since the token was first seen".
 */
export interface BlockListVersions {
  /**
   * The blocker's current token. When there is none (never written, expired, Redis flushed), one
   * is created atomically, so that every concurrent reader gets the same one.
   */
  current(blockerAci: string): Promise<string>;
  /**
   * Gives the blocker's list a fresh token. The owner calls it after every change of the list has
   * committed and before the change is reported done; a failure must fail the change.
   */
  renew(blockerAci: string): Promise<void>;
}

/** How long a token lives in Redis without a change: 7 days (a missing token only costs a refetch). */
export const BLOCK_LIST_VERSION_TTL_SECONDS = 7 * 24 * 3600;

function freshToken(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * {@link BlockListVersions} in Redis, one key per blocker: `<prefix>blocks:version:<aci>` (the
 * runtime's key prefix, `courier:` by default), shared by every instance of every subgraph on
 * that Redis and prefix. The only code that reads or writes these keys.
 */
export class RedisBlockListVersions implements BlockListVersions {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  /** `prefix` is the runtime's Redis key prefix (e.g. `courier:`). */
  constructor(
    redis: Redis,
    prefix = 'courier:',
    ttlSeconds: number = BLOCK_LIST_VERSION_TTL_SECONDS,
  ) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlSeconds = ttlSeconds;
  }

  /**
   * One `GET` when the token exists (the hot path). Otherwise `SET … NX` of a fresh token and,
   * when another reader won that race, a `GET` of the winner's token (works on every Redis version).
   */
  async current(blockerAci: string): Promise<string> {
    const key = this.keyOf(blockerAci);
    for (;;) {
      const existing = await this.#redis.get(key);
      if (existing !== null) return existing;
      const token = freshToken();
      if ((await this.#redis.set(key, token, 'EX', this.#ttlSeconds, 'NX')) === 'OK') return token;
      // Another reader created one in between: loop to read it (it could only vanish again by
      // expiring or a flush, each of which just starts over).
    }
  }

  async renew(blockerAci: string): Promise<void> {
    await this.#redis.set(this.keyOf(blockerAci), freshToken(), 'EX', this.#ttlSeconds);
  }

  /** The Redis key of a blocker's token. */
  keyOf(blockerAci: string): string {
    return `${this.#prefix}blocks:version:${blockerAci.toLowerCase()}`;
  }
}
