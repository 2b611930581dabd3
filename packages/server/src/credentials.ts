import type { AuthenticatedDevice } from '@courier/auth';
import type { Bus } from '@courier/bus';
import type { Redis } from 'ioredis';
import { InternalApiClient } from './internal-api.ts';

/** Answers a device's current credential id from the owner (accounts); null = no such device. */
export type CredentialLookup = (aci: string, deviceId: number) => Promise<string | null>;

/** Options of {@link DeviceCredentials}. */
export interface DeviceCredentialsOptions {
  readonly bus: Bus;
  /** Shared cache across instances; unset in single-node mode. */
  readonly redis?: Redis | undefined;
  /** @default 'courier:' */
  readonly prefix?: string;
  /**
   * How long an instance trusts its local copy. Revocations also arrive on the bus at once;
   * pub/sub is lossy, so this bounds how late a missed one takes effect.
   * @default 10_000
   */
  readonly localTtlMs?: number;
  /** Where to ask accounts when neither copy knows (processes without accounts in them). */
  readonly accountsUrl?: string | (() => string) | undefined;
  readonly routerSecret: string;
  /** @default Date.now */
  readonly now?: () => number;
}

const REVOKED_CHANNEL = 'credentials:revoked';
const REDIS_TTL_SECONDS = 24 * 3600;
/**
 * Copies read from the owner by a non-owner live briefly: a read racing with a revocation could
 * write back a stale id after the owner deleted it, and this bounds how long that would last.
 */
const LOOKUP_TTL_SECONDS = 60;
const ABSENT = '-';

/** Most device credential ids kept in a process's local copy. */
const MAX_LOCAL_ENTRIES = 50_000;

/**
 * Whether an access token's device credentials are still current, checked on every request
 * and socket by every subgraph. Accounts owns the truth (`devices.credential_id`); this keeps
 * copies: a short-lived one per instance and a shared one in Redis, written through by accounts
 * whenever credentials appear or change, and dropped everywhere at once by a bus event when a
 * device is removed or its password changes (which also closes the device's open sockets).
 */
export class DeviceCredentials {
  readonly #bus: Bus;
  readonly #redis: Redis | undefined;
  readonly #prefix: string;
  readonly #localTtlMs: number;
  readonly #now: () => number;
  readonly #local = new Map<string, { credentialId: string | null; until: number }>();
  readonly #listeners = new Set<(aci: string, deviceId: number) => void>();
  #lookup: CredentialLookup | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(options: DeviceCredentialsOptions) {
    this.#bus = options.bus;
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'courier:';
    this.#localTtlMs = options.localTtlMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    const accountsUrl = options.accountsUrl;
    if (accountsUrl) {
      let client: InternalApiClient | undefined;
      this.#lookup = async (aci, deviceId) => {
        const url = typeof accountsUrl === 'function' ? accountsUrl() : accountsUrl;
        client ??= url ? new InternalApiClient(url, options.routerSecret) : undefined;
        if (!client) return null;
        const answer = await client.request<{ credentialId: string | null }>(
          'GET',
          `/devices/${aci}/${deviceId}/credential`,
        );
        return answer.credentialId;
      };
    }
  }

  /** Installs the owner's own lookup (the accounts subgraph reads its database). */
  useLookup(lookup: CredentialLookup): void {
    this.#lookup = lookup;
  }

  /** Starts listening for revocations on the bus. */
  async start(): Promise<void> {
    this.#unsubscribe ??= await this.#bus.subscribe(REVOKED_CHANNEL, (message) => {
      const [aci, deviceId] = new TextDecoder().decode(message).split(':');
      if (!aci || !deviceId) return;
      this.#local.delete(`${aci}:${deviceId}`);
      for (const listener of this.#listeners) listener(aci, Number(deviceId));
    });
  }

  async close(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  /** Calls `listener` whenever a device's credentials are revoked anywhere. */
  onRevoked(listener: (aci: string, deviceId: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** True when the token's credential id is the device's current one. */
  async isCurrent(device: AuthenticatedDevice): Promise<boolean> {
    return (await this.#current(device.aci, device.deviceId)) === device.credentialId;
  }

  /** Owner: records a device's new credentials (registration, linking). */
  async remember(aci: string, deviceId: number, credentialId: string): Promise<void> {
    this.#keepLocally(`${aci}:${deviceId}`, credentialId);
    await this.#redis?.set(this.#redisKey(aci, deviceId), credentialId, 'EX', REDIS_TTL_SECONDS);
  }

  /** Owner: revokes a device's credentials everywhere and closes its sockets. */
  async revoke(aci: string, deviceId: number): Promise<void> {
    this.#local.delete(`${aci}:${deviceId}`);
    await this.#redis?.del(this.#redisKey(aci, deviceId));
    await this.#bus.publish(REVOKED_CHANNEL, new TextEncoder().encode(`${aci}:${deviceId}`));
  }

  #redisKey(aci: string, deviceId: number): string {
    return `${this.#prefix}credential:${aci}:${deviceId}`;
  }

  async #current(aci: string, deviceId: number): Promise<string | null> {
    const key = `${aci}:${deviceId}`;
    const local = this.#local.get(key);
    if (local && local.until > this.#now()) return local.credentialId;
    let credentialId: string | null | undefined;
    const shared = await this.#redis?.get(this.#redisKey(aci, deviceId));
    if (shared) credentialId = shared === ABSENT ? null : shared;
    if (credentialId === undefined) {
      if (!this.#lookup) return null;
      credentialId = await this.#lookup(aci, deviceId);
      await this.#redis?.set(
        this.#redisKey(aci, deviceId),
        credentialId ?? ABSENT,
        'EX',
        LOOKUP_TTL_SECONDS,
      );
    }
    this.#keepLocally(key, credentialId);
    return credentialId;
  }

  /**
   * Keeps a device's credential id for `localTtlMs`. Entries all live the same time, so the map's
   * insertion order is expiry order: a full map first drops what expired, then the oldest.
   */
  #keepLocally(key: string, credentialId: string | null): void {
    const now = this.#now();
    this.#local.delete(key);
    for (const [old, entry] of this.#local) {
      if (this.#local.size < MAX_LOCAL_ENTRIES && entry.until > now) break;
      this.#local.delete(old);
    }
    this.#local.set(key, { credentialId, until: now + this.#localTtlMs });
  }
}
