import { randomUUID } from 'node:crypto';
import { ROUTER_SECRET_HEADER } from '@courier/schema';
import { AccountsClient, RedisBlockListVersions, type SubgraphServer } from '@courier/server';
import {
  expectData,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  testRedisUrl,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { Redis } from 'ioredis';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  vi,
  type MockInstance,
} from 'vitest';

/**
 * `AccountsClient` against the platform's accounts server (its GraphQL mutations and internal
 * API) and real Redis: block lists cached under the version tokens accounts renews in the
 * runtime's Redis, and accounts cached with refresh-ahead and batched lookups.
 */
describe('AccountsClient', () => {
  let platform: Platform;
  let redis: Redis;
  let versions: RedisBlockListVersions;
  let accounts: SubgraphServer;
  let alice: TestAccount;
  let bob: TestAccount;
  let carol: TestAccount;
  let fetchSpy: MockInstance<typeof fetch>;
  let numbers = 0;

  const register = () =>
    registerTestAccount(platform, `+1415555${String(6100 + numbers++).padStart(4, '0')}`);

  /** Requests to accounts' internal API matching `path` since the spy was last cleared. */
  const requests = (path: RegExp) =>
    fetchSpy.mock.calls.filter(([input]) => path.test(String(input))).length;
  /** Block-list requests. */
  const blockListRequests = () => requests(/\/internal\/blocks\/[^/]+$/);
  /** Account lookups. */
  const lookups = () => requests(/\/internal\/accounts\/lookup$/);

  /** Runs `blockAccount` / `unblockAccount` on the accounts server that renews the tokens. */
  async function change(mutation: 'blockAccount' | 'unblockAccount', by: TestAccount, aci: string) {
    expectData(
      await postGraphQL(accounts.url, `mutation ($a: ID!) { ${mutation}(aci: $a) }`, {
        variables: { a: aci },
        token: by.token,
        headers: { [ROUTER_SECRET_HEADER]: platform.routerSecret },
      }),
      mutation,
    );
  }

  const client = () =>
    new AccountsClient(accounts.url, platform.routerSecret, { blockListVersions: versions });

  beforeAll(async () => {
    platform = await startPlatform();
    redis = new Redis(testRedisUrl());
    versions = new RedisBlockListVersions(redis, platform.redisPrefix);
    accounts = platform.subgraphs.accounts;
    [alice, bob, carol] = [await register(), await register(), await register()];
    fetchSpy = vi.spyOn(globalThis, 'fetch');
  });

  beforeEach(() => {
    fetchSpy.mockClear();
  });

  afterAll(async () => {
    fetchSpy?.mockRestore();
    if (redis) {
      const keys = platform ? await redis.keys(`${platform.redisPrefix}blocks:*`) : [];
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
    await platform?.stop();
  });

  describe('block lists cached under version tokens', () => {
    it('sees a block and an unblock at once', async () => {
      const blocks = client();
      expect(await blocks.isBlocked(bob.aci, alice.aci)).toBe(false);
      await change('blockAccount', bob, alice.aci);
      expect(await blocks.isBlocked(bob.aci, alice.aci)).toBe(true);
      expect(await blocks.isBlocked(bob.aci, carol.aci)).toBe(false);
      await change('unblockAccount', bob, alice.aci);
      expect(await blocks.isBlocked(bob.aci, alice.aci)).toBe(false);
      expect(blockListRequests()).toBe(3);
    });

    it('answers from the cache, with no request to accounts, while the token is unchanged', async () => {
      const blocks = client();
      await change('blockAccount', carol, alice.aci);
      expect(await blocks.isBlocked(carol.aci, alice.aci)).toBe(true);
      expect(blockListRequests()).toBe(1);
      fetchSpy.mockClear();
      const answers = await Promise.all([
        blocks.isBlocked(carol.aci, alice.aci),
        blocks.isBlocked(carol.aci, bob.aci),
        blocks.isBlocked(carol.aci.toUpperCase(), alice.aci.toUpperCase()),
      ]);
      expect(answers).toEqual([true, false, true]);
      expect(blockListRequests()).toBe(0);
    });

    it('shares one request between concurrent callers seeing the same token', async () => {
      const blocks = client();
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => blocks.isBlocked(alice.aci, bob.aci)),
      );
      expect(answers).toEqual([false, false, false, false, false]);
      expect(blockListRequests()).toBe(1);
    });

    it('refetches when the token is gone (Redis flushed or expired) rather than answer stale', async () => {
      const blocks = client();
      expect(await blocks.isBlocked(alice.aci, carol.aci)).toBe(false);
      // A change that renews no token (straight into the table): the cached list stays in use
      // while the token stands, and is read again once the token is gone.
      await platform.runtime.prisma.block.create({
        data: { blockerAci: alice.aci, blockedAci: carol.aci },
      });
      expect(await blocks.isBlocked(alice.aci, carol.aci)).toBe(false);
      await redis.del(versions.keyOf(alice.aci));
      fetchSpy.mockClear();
      expect(await blocks.isBlocked(alice.aci, carol.aci)).toBe(true);
      expect(blockListRequests()).toBe(1);
      expect(await redis.get(versions.keyOf(alice.aci))).not.toBeNull();
    });

    it('keeps the token under the runtime prefix with a TTL, and agrees on one when several create it', async () => {
      const blocker = randomUUID();
      const key = versions.keyOf(blocker);
      expect(key).toBe(`${platform.redisPrefix}blocks:version:${blocker}`);
      const otherRedis = new Redis(testRedisUrl());
      const other = new RedisBlockListVersions(otherRedis, platform.redisPrefix);
      try {
        const tokens = await Promise.all([
          versions.current(blocker),
          other.current(blocker),
          versions.current(blocker),
        ]);
        expect(new Set(tokens).size).toBe(1);
        expect(await redis.ttl(key)).toBeGreaterThan(6 * 24 * 3600);
        await versions.renew(blocker);
        expect(await other.current(blocker)).not.toBe(tokens[0]);
      } finally {
        await redis.del(key);
        await otherRedis.quit();
      }
    });
  });

  describe('accounts, refreshed ahead and looked up together', () => {
    let people: TestAccount[];

    beforeAll(async () => {
      people = [await register(), await register(), await register()];
    });

    it('asks accounts once for every account missed in the same turn', async () => {
      const client = new AccountsClient(accounts.url, platform.routerSecret);
      const unknown = '6a1f40ab-0000-4000-8000-000000000000';
      const found = await Promise.all([
        ...people.map((person) => client.findTarget(person.aci)),
        client.findTarget(unknown),
        client.findTarget(people[0]!.aci),
      ]);
      expect(found.map((target) => target?.aci ?? null)).toEqual([
        ...people.map((person) => person.aci),
        null,
        people[0]!.aci,
      ]);
      expect(found[0]!.devices.map((device) => device.deviceId)).toEqual([1]);
      expect(lookups()).toBe(1);
    });

    it('refreshes an account in use ahead of its expiry, and never serves one past its TTL', async () => {
      let now = 1_000_000;
      const client = new AccountsClient(accounts.url, platform.routerSecret, {
        cacheTtlMs: 2000,
        now: () => now,
      });
      const aci = people[1]!.aci;
      await client.findTarget(aci);
      expect(lookups()).toBe(1);
      now += 900;
      await client.findTarget(aci);
      expect(lookups()).toBe(1);
      expectData(
        await postGraphQL(
          accounts.url,
          'mutation { setAccountAttributes(input: { unrestrictedUnidentifiedAccess: true }) { __typename } }',
          { token: people[1]!.token, headers: { [ROUTER_SECRET_HEADER]: platform.routerSecret } },
        ),
        'setAccountAttributes',
      );
      now += 300;
      expect((await client.findTarget(aci))?.unrestrictedUnidentifiedAccess).toBe(false);
      expect(lookups()).toBe(2);
      await vi.waitFor(async () =>
        expect((await client.findTarget(aci))?.unrestrictedUnidentifiedAccess).toBe(true),
      );
      expect(lookups()).toBe(2);
      now = 1_002_100;
      await client.findTargets([aci]);
      expect(lookups()).toBe(2);
      now += 2100;
      await client.findTarget(aci);
      expect(lookups()).toBe(3);
    });

    it("splits lookups at accounts' limit of 5,000 service ids per request", async () => {
      const client = new AccountsClient(accounts.url, platform.routerSecret);
      const ids = [
        ...Array.from({ length: 5000 }, () => randomUUID()),
        people[2]!.aci,
        `PNI:${randomUUID()}`,
      ];
      const found = await client.findTargets(ids);
      expect(found.size).toBe(5002);
      expect(found.get(people[2]!.aci)?.aci).toBe(people[2]!.aci);
      expect([...found.values()].filter((target) => target !== null)).toHaveLength(1);
      expect(lookups()).toBe(2);
    });
  });
});
