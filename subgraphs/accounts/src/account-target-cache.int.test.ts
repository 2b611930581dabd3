import { AccountsClient, type SubgraphServer } from '@courier/server';
import { randomUUID } from 'node:crypto';
import { ROUTER_SECRET_HEADER } from '@courier/schema';
import {
  expectData,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  type Platform,
  type TestAccount,
} from '@courier/testing';
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
 * `AccountsClient.findTarget` / `findTargets` against the platform's accounts server: misses of
 * one event-loop turn share one lookup, accounts in use are refreshed ahead of their expiry, and
 * nothing older than the TTL is served.
 */
describe('account targets cached by AccountsClient', () => {
  let platform: Platform;
  let accounts: SubgraphServer;
  let people: TestAccount[];
  let fetchSpy: MockInstance<typeof fetch>;

  /** Lookup requests made to accounts' internal API since the spy was last cleared. */
  const lookups = () =>
    fetchSpy.mock.calls.filter(([input]) => String(input).endsWith('/internal/accounts/lookup'))
      .length;

  beforeAll(async () => {
    platform = await startPlatform();
    accounts = platform.subgraphs.accounts;
    people = [];
    for (let i = 0; i < 3; i++) {
      people.push(await registerTestAccount(platform, `+1415555${6200 + i}`));
    }
    fetchSpy = vi.spyOn(globalThis, 'fetch');
  });

  beforeEach(() => {
    fetchSpy.mockClear();
  });

  afterAll(async () => {
    fetchSpy?.mockRestore();
    await platform?.stop();
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
