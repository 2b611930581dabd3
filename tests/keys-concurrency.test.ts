import {
  PRE_KEY_BUNDLE_FIELDS,
  TestSignalStores,
  expectData,
  generateKyberPreKeys,
  generateOneTimePreKeys,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  uploadOneTimeKeys,
  type Platform,
  type PreKeyBundleDeviceResponse,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BUNDLE = `mutation ($id: String!) { preKeyBundle(serviceId: $id, deviceId: 1) { ${PRE_KEY_BUNDLE_FIELDS} } }`;
const COUNTS = `{ preKeyCounts(identity: ACI) { ecCount kyberCount } }`;

const KEYS = 40;
const FETCHES = 120;

describe('one-time prekeys under concurrent fetches on two keys instances', () => {
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform({
      keysInstances: 2,
      // Many fetches from one caller device to one target device: lift the `prekeys` bucket.
      keysRateLimitOverrides: { prekeys: { capacity: 10_000, periodSeconds: 0.001 } },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('hands out each one-time key at most once and the counts match', async () => {
    const alice = await registerTestAccount(platform, '+14155553001');
    const callers = [
      await registerTestAccount(platform, '+14155553002'),
      await registerTestAccount(platform, '+14155553003'),
    ];
    await uploadOneTimeKeys(
      platform.gatewayUrl,
      alice.token,
      'ACI',
      TestSignalStores.forIdentity(alice.aciIdentity),
      generateOneTimePreKeys(KEYS, 1000),
      generateKyberPreKeys(alice.aciIdentity.identityKeyPair, KEYS, 2000),
    );
    const second = platform.keysServers[1]!;
    expect(second.url).not.toBe(platform.subgraphs.keys.url);

    // Half the fetches through the gateway (keys instance 1), half straight to instance 2.
    const results = await Promise.all(
      Array.from({ length: FETCHES }, async (_, i) => {
        const caller = callers[i % 2]!;
        const viaGateway = i % 4 < 2;
        const { body } = await postGraphQL<{
          preKeyBundle: { devices: PreKeyBundleDeviceResponse[] };
        }>(viaGateway ? platform.gatewayUrl : second.url, BUNDLE, {
          token: caller.token,
          variables: { id: alice.aci },
          ...(viaGateway ? {} : { headers: { 'x-router-secret': platform.routerSecret } }),
        });
        return expectData({ body }, 'preKeyBundle').preKeyBundle.devices[0]!;
      }),
    );
    const ecIds = results.flatMap((device) => (device.preKey ? [device.preKey.keyId] : []));
    const lastResortId = alice.aciIdentity.lastResortKyberPreKey.keyId;
    const kyberIds = results
      .map((device) => device.kyberPreKey.keyId)
      .filter((id) => id !== lastResortId);

    expect(new Set(ecIds).size).toBe(ecIds.length);
    expect(new Set(kyberIds).size).toBe(kyberIds.length);
    expect(ecIds.length).toBeLessThanOrEqual(KEYS);
    expect(kyberIds.length).toBeLessThanOrEqual(KEYS);

    const { body } = await postGraphQL<{ preKeyCounts: { ecCount: number; kyberCount: number } }>(
      platform.gatewayUrl,
      COUNTS,
      { token: alice.token },
    );
    const left = expectData({ body }, 'preKeyCounts').preKeyCounts;
    // Every key is either handed out exactly once or still stored.
    expect(ecIds.length + left.ecCount).toBe(KEYS);
    expect(kyberIds.length + left.kyberCount).toBe(KEYS);
    // With three times as many fetches as keys, all of them went.
    expect(left).toEqual({ ecCount: 0, kyberCount: 0 });
    expect(ecIds.sort((a, b) => a - b)).toEqual(Array.from({ length: KEYS }, (_, i) => 1000 + i));
  });
});
