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
   * Most accounts kept in the cache (the least recently used are dropped first).
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

/** Most service ids in one lookup request (accounts' `MAX_LOOKUP_SERVICE_IDS`). */
const LOOKUP_CHUNK = 5000;

/** A caller waiting for an account in a batched lookup. */
interface Waiting {
  readonly promise: Promise<AccountTarget | null>;
  resolve(target: AccountTarget | null): void;
  reject(error: unknown): void;
}

/** An account as cached: asked of accounts at `fetchedAt`. */
interface CachedTarget {
  readonly fetchedAt: number;
  readonly target: Promise<AccountTarget | null>;
  /** A refresh of this entry is in flight. */
  refreshing: boolean;
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
 * Accounts in steady use are refreshed in the background once past half their TTL, and the
 * misses of one event-loop turn share one lookup request, so a busy sender rarely waits for
 * accounts; neither serves anything older than the TTL.
 *
 * Blocks take effect at once, yet are cached (see {@link AccountsClient.isBlocked}): each
 * blocker's list is kept under the version token it was read after, and reused only while the
 * shared token is unchanged.
 */
export class AccountsClient {
  readonly #url: string | (() => string);
  readonly #routerSecret: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache: LRUCache<string, CachedTarget>;
  /** Accounts asked for in this turn of the event loop (see `#lookupSoon`). */
  #batch: Map<string, Waiting> | undefined;
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
    this.#cache = new LRUCache({ max: options.cacheSize ?? 10_000 });
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
    if (this.#ttlMs <= 0) return this.#lookupSoon(serviceId);
    const now = this.#now();
    const cached = this.#fresh(serviceId, now);
    if (cached) {
      this.#refreshAhead([serviceId], now);
      return cached.target;
    }
    const target = this.#lookupSoon(serviceId);
    this.#store(serviceId, now, target);
    return target;
  }

  /**
   * One account, asked of accounts together with every other one asked for in the same turn of
   * the event loop (one request for all: after a quiet spell, the senders of many concurrent
   * sends all miss the cache at once).
   */
  #lookupSoon(serviceId: string): Promise<AccountTarget | null> {
    if (!this.#batch) {
      const batch = new Map<string, Waiting>();
      this.#batch = batch;
      setImmediate(() => {
        this.#batch = undefined;
        this.#lookup([...batch.keys()]).then(
          (targets) => {
            for (const [id, waiting] of batch) waiting.resolve(targets.get(id) ?? null);
          },
          (error: unknown) => {
            for (const waiting of batch.values()) waiting.reject(error);
          },
        );
      });
    }
    let waiting = this.#batch.get(serviceId);
    if (!waiting) {
      let resolve!: Waiting['resolve'];
      let reject!: Waiting['reject'];
      const promise = new Promise<AccountTarget | null>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      waiting = { promise, resolve, reject };
      this.#batch.set(serviceId, waiting);
    }
    return waiting.promise;
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
    const cachedIds: string[] = [];
    for (const serviceId of new Set(serviceIds)) {
      const cached = this.#ttlMs > 0 ? this.#fresh(serviceId, now) : undefined;
      if (cached) {
        cachedIds.push(serviceId);
        pending.push(cached.target.then((target) => void found.set(serviceId, target)));
      } else {
        missing.push(serviceId);
      }
    }
    this.#refreshAhead(cachedIds, now);
    if (missing.length > 0) {
      for (const [serviceId, target] of await this.#lookup(missing)) {
        found.set(serviceId, target);
        if (this.#ttlMs > 0) this.#store(serviceId, now, Promise.resolve(target));
      }
    }
    await Promise.all(pending);
    return found;
  }

  /** The cached entry of `serviceId` when it is younger than the TTL. */
  #fresh(serviceId: string, now: number): CachedTarget | undefined {
    const cached = this.#cache.get(serviceId);
    return cached && cached.fetchedAt + this.#ttlMs > now ? cached : undefined;
  }

  #store(serviceId: string, fetchedAt: number, target: Promise<AccountTarget | null>): void {
    const entry: CachedTarget = { fetchedAt, target, refreshing: false };
    this.#cache.set(serviceId, entry);
    target.catch(() => {
      if (this.#cache.peek(serviceId) === entry) this.#cache.delete(serviceId);
    });
  }

  /**
   * Refresh-ahead: cached accounts past half their TTL are asked of accounts again in the
   * background (one request for all of them), so an account in steady use is replaced before it
   * expires and its callers never wait for accounts. Nothing older than the TTL is ever served:
   * if the refresh has not answered by then, the next caller waits for a fetch as before. A
   * failed refresh leaves the entry to expire.
   */
  #refreshAhead(serviceIds: readonly string[], now: number): void {
    const due = serviceIds.filter((serviceId) => {
      const cached = this.#cache.peek(serviceId);
      if (!cached || cached.refreshing || now - cached.fetchedAt < this.#ttlMs / 2) return false;
      cached.refreshing = true;
      return true;
    });
    if (due.length === 0) return;
    this.#lookup(due).then(
      (targets) => {
        for (const [serviceId, target] of targets) {
          this.#store(serviceId, now, Promise.resolve(target));
        }
      },
      () => {
        for (const serviceId of due) {
          const cached = this.#cache.peek(serviceId);
          if (cached) cached.refreshing = false;
        }
      },
    );
  }

  /**
   * Accounts' answer for each of `serviceIds` (null when unknown): one request per
   * {@link LOOKUP_CHUNK} ids (accounts' limit per request).
   */
  async #lookup(serviceIds: readonly string[]): Promise<Map<string, AccountTarget | null>> {
    if (serviceIds.length > LOOKUP_CHUNK) {
      const chunks: (readonly string[])[] = [];
      for (let i = 0; i < serviceIds.length; i += LOOKUP_CHUNK) {
        chunks.push(serviceIds.slice(i, i + LOOKUP_CHUNK));
      }
      const answers = await Promise.all(chunks.map((chunk) => this.#lookup(chunk)));
      return new Map(answers.flatMap((answer) => [...answer]));
    }
    const body = await this.#api.request<{ accounts: (AccountTargetBody | null)[] }>(
      'POST',
      '/accounts/lookup',
      { serviceIds },
    );
    return new Map(
      serviceIds.map((serviceId, i) => {
        const entry = body.accounts[i];
        return [serviceId, entry ? targetOf(entry) : null];
      }),
    );
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
}
