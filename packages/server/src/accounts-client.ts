import { CourierError, ErrorCode } from '@courier/errors';
import { LRUCache } from 'lru-cache';
import type { BlockListVersions } from './block-list-versions.ts';
import { InternalApiClient } from './internal-api.ts';

/** An account as other subgraphs need it (from accounts' internal API): ids, sealed-sender access settings, devices. */
export interface AccountTarget {
  readonly aci: string;
  readonly pni: string;
  /** The E.164 number (absent from hand-made targets in unit tests). */
  readonly number?: string;
  /** The 16-byte unidentified access key, or null when the account set none. */
  readonly unidentifiedAccessKey: Uint8Array | null;
  readonly unrestrictedUnidentifiedAccess: boolean;
  readonly devices: readonly {
    readonly deviceId: number;
    readonly registrationId: number;
    readonly pniRegistrationId: number;
  }[];
}

interface AccountTargetBody extends Omit<AccountTarget, 'unidentifiedAccessKey'> {
  readonly unidentifiedAccessKey: string | null;
}

function targetOf(body: AccountTargetBody): AccountTarget {
  return {
    ...body,
    unidentifiedAccessKey:
      body.unidentifiedAccessKey === null
        ? null
        : new Uint8Array(Buffer.from(body.unidentifiedAccessKey, 'base64')),
  };
}

/** Options of {@link AccountsClient}. */
export interface AccountsClientOptions {
  /**
   * How long an account read from accounts is reused, in ms; 0 disables the cache.
   * @default 2000
   */
  readonly cacheTtlMs?: number;
  /**
   * Most accounts kept in the cache.
   * @default 10000
   */
  readonly cacheSize?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * The block lists' version tokens (the same store the accounts subgraph renews). With them,
   * {@link AccountsClient.isBlocked} answers from a cached block list while its token is
   * unchanged; without them it asks accounts every time.
   */
  readonly blockListVersions?: BlockListVersions | undefined;
  /**
   * Most blockers whose lists are cached (the least recently used are dropped first).
   * @default 10000
   */
  readonly blockListCacheSize?: number;
  /**
   * Longest a cached block list is reused even when its token is unchanged, in ms: a backstop
   * only (for a change whose token renewal failed, which failed the change itself).
   * @default 60000
   */
  readonly blockListMaxAgeMs?: number;
}

/** A blocker's list as cached: read from accounts after its `token` was seen. */
interface CachedBlockList {
  readonly token: string;
  readonly expiresAt: number;
  readonly list: Promise<BlockList>;
}

/** A blocker's blocked ACIs; `complete` is false when accounts cut the list at its limit. */
interface BlockList {
  readonly blocked: ReadonlySet<string>;
  readonly complete: boolean;
}

/**
 * The accounts subgraph's internal API as keys and messages use it: who a service id is (devices,
 * registration ids, access settings) and whether one account blocks another. Keys and messages never read
 * accounts' tables.
 *
 * Staleness (decision): accounts are cached in this process for `cacheTtlMs` (2 s by default),
 * so for up to that long a just-linked device may be missing from an all-devices bundle, a
 * changed unidentified access key may still be checked against the old one, and a re-registered
 * device's old registration id may be served (clients then learn the new one from the messages
 * subgraph's stale-devices answer and fetch again). A removed device is never served: its keys
 * are deleted synchronously by the removal, and devices without keys are left out.
 *
 * Blocks take effect at once, yet are cached (see {@link AccountsClient.isBlocked}): each
 * blocker's list is kept under the version token it was read after, and reused only while the
 * shared token is unchanged.
 */
export class AccountsClient {
  readonly #url: string | (() => string);
  readonly #routerSecret: string;
  readonly #ttlMs: number;
  readonly #size: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { expiresAt: number; target: Promise<AccountTarget | null> }>();
  readonly #blockListVersions: BlockListVersions | undefined;
  readonly #blockListMaxAgeMs: number;
  readonly #blockLists: LRUCache<string, CachedBlockList>;
  #client: InternalApiClient | undefined;

  /** `accountsUrl` may be a getter when accounts starts listening after keys. */
  constructor(
    accountsUrl: string | (() => string),
    routerSecret: string,
    options: AccountsClientOptions = {},
  ) {
    this.#url = accountsUrl;
    this.#routerSecret = routerSecret;
    this.#ttlMs = options.cacheTtlMs ?? 2000;
    this.#size = options.cacheSize ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#blockListVersions = options.blockListVersions;
    this.#blockLists = new LRUCache({ max: options.blockListCacheSize ?? 10_000 });
    this.#blockListMaxAgeMs = options.blockListMaxAgeMs ?? 60_000;
  }

  get #api(): InternalApiClient {
    this.#client ??= new InternalApiClient(
      typeof this.#url === 'string' ? this.#url : this.#url(),
      this.#routerSecret,
    );
    return this.#client;
  }

  /** The account of `serviceId` (`<aci>` or `PNI:<pni>`, lower case), or null when unknown. */
  findTarget(serviceId: string): Promise<AccountTarget | null> {
    if (this.#ttlMs <= 0) return this.#fetch(serviceId);
    const now = this.#now();
    const cached = this.#cache.get(serviceId);
    if (cached && cached.expiresAt > now) return cached.target;
    if (this.#cache.size >= this.#size) {
      for (const [key, entry] of this.#cache) {
        if (entry.expiresAt <= now || this.#cache.size >= this.#size) this.#cache.delete(key);
        else break;
      }
    }
    const target = this.#fetch(serviceId);
    this.#cache.set(serviceId, { expiresAt: now + this.#ttlMs, target });
    target.catch(() => this.#cache.delete(serviceId));
    return target;
  }

  /**
   * The accounts of many service ids at once (multi-recipient sends): cached ones from the cache,
   * the rest in one request to accounts. Answers a map from each given id (as given) to its
   * account or null when unknown.
   */
  async findTargets(serviceIds: readonly string[]): Promise<Map<string, AccountTarget | null>> {
    const now = this.#now();
    const found = new Map<string, AccountTarget | null>();
    const pending: Promise<void>[] = [];
    const missing: string[] = [];
    for (const serviceId of new Set(serviceIds)) {
      const cached = this.#ttlMs > 0 ? this.#cache.get(serviceId) : undefined;
      if (cached && cached.expiresAt > now) {
        pending.push(cached.target.then((target) => void found.set(serviceId, target)));
      } else {
        missing.push(serviceId);
      }
    }
    if (missing.length > 0) {
      const body = await this.#api.request<{ accounts: (AccountTargetBody | null)[] }>(
        'POST',
        '/accounts/lookup',
        { serviceIds: missing },
      );
      missing.forEach((serviceId, i) => {
        const entry = body.accounts[i];
        const target = entry ? targetOf(entry) : null;
        found.set(serviceId, target);
        if (this.#ttlMs > 0 && this.#cache.size < this.#size) {
          this.#cache.set(serviceId, {
            expiresAt: now + this.#ttlMs,
            target: Promise.resolve(target),
          });
        }
      });
    }
    await Promise.all(pending);
    return found;
  }

  /**
   * Whether `blockerAci` blocks `otherAci`.
   *
   * Without {@link AccountsClientOptions.blockListVersions}, one request to accounts per call.
   * With them: read the blocker's version token (creating one when there is none); answer from
   * the blocker's list cached under that same token; otherwise fetch the whole list from accounts
   * (after the token was read) and cache it under the token. Concurrent callers seeing the same
   * token share one fetch.
   *
   * Why a block takes effect at once: a list cached under token T was read from accounts after
   * some caller saw T in the store. Every change of a blocker's list commits, then writes a fresh
   * token, then returns. A call starting after the change returned sees either that fresh token
   * or one written later still (a later change, or a token recreated after expiry or a flush);
   * any list cached under it was therefore read after the change committed. Tokens are random
   * and never reused, so a list read before the change sits under an older token and is not
   * used. When the token write fails, the change fails (the client retries); as a backstop for
   * that and for a Redis failover losing the latest token write, cached lists are also dropped
   * after `blockListMaxAgeMs`.
   */
  async isBlocked(blockerAci: string, otherAci: string): Promise<boolean> {
    if (!this.#blockListVersions) return this.#isBlockedExactly(blockerAci, otherAci);
    const blocker = blockerAci.toLowerCase();
    const other = otherAci.toLowerCase();
    const token = await this.#blockListVersions.current(blocker);
    const now = this.#now();
    let cached = this.#blockLists.get(blocker);
    if (!cached || cached.token !== token || cached.expiresAt <= now) {
      cached = {
        token,
        expiresAt: now + this.#blockListMaxAgeMs,
        list: this.#fetchBlockList(blocker),
      };
      this.#cacheBlockList(blocker, cached);
    }
    const { blocked, complete } = await cached.list;
    if (blocked.has(other)) return true;
    return complete ? false : this.#isBlockedExactly(blocker, other);
  }

  #cacheBlockList(blocker: string, entry: CachedBlockList): void {
    this.#blockLists.set(blocker, entry);
    entry.list.catch(() => {
      if (this.#blockLists.peek(blocker) === entry) this.#blockLists.delete(blocker);
    });
  }

  async #fetchBlockList(blocker: string): Promise<BlockList> {
    const body = await this.#api.request<{ blocked: string[]; complete: boolean }>(
      'GET',
      `/blocks/${encodeURIComponent(blocker)}`,
    );
    return {
      blocked: new Set(body.blocked.map((aci) => aci.toLowerCase())),
      complete: body.complete,
    };
  }

  async #isBlockedExactly(blockerAci: string, otherAci: string): Promise<boolean> {
    const body = await this.#api.request<{ blocked: boolean }>(
      'GET',
      `/blocks/${blockerAci}/${otherAci}`,
    );
    return body.blocked;
  }

  async #fetch(serviceId: string): Promise<AccountTarget | null> {
    try {
      const body = await this.#api.request<AccountTargetBody>(
        'GET',
        `/accounts/${encodeURIComponent(serviceId)}`,
      );
      return targetOf(body);
    } catch (error) {
      if (error instanceof CourierError && error.code === ErrorCode.NOT_FOUND) {
        return null;
      }
      throw error;
    }
  }
}
