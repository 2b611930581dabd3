import {
  PRE_KEY_BUNDLE_FIELDS,
  TestSignalStores,
  generateKyberPreKeys,
  generateOneTimePreKeys,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  uploadOneTimeKeys,
  type TestAccount,
} from '@courier/testing';
import { closedLoop, report, writeResults } from './load.ts';

/**
 * Prekey bundle fetches per second (`preKeyBundle` for one device, each claiming a one-time EC
 * and a one-time Kyber prekey), sent straight to the keys subgraph (with the router secret) and
 * through the gateway, in the same run, with the same concurrency. Every measured fetch claims
 * fresh one-time keys: each mode has its own target accounts holding enough keys. The `prekeys`
 * bucket (6 per 10 minutes per caller→target device) is lifted for the run. Bounded: a fixed
 * number of requests. Prints the figures and writes `bench/results/prekey-bundle.json`.
 */
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 2000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 10);
const KEYS_PER_TARGET = 100;
const WARMUP = 100;
const TARGETS = Math.ceil(REQUESTS / KEYS_PER_TARGET);

const BUNDLE = `mutation ($id: String!) {
  preKeyBundle(serviceId: $id, deviceId: 1) { ${PRE_KEY_BUNDLE_FIELDS} } }`;

interface BundleBody {
  data?: { preKeyBundle: { devices: { preKey: unknown }[] } | null } | null;
  errors?: unknown;
}

let numbers = 0;
const platform = await startPlatform({
  keysRateLimitOverrides: { prekeys: { capacity: 1_000_000, periodSeconds: 0.001 } },
});

/** Registers `count` accounts that each hold `KEYS_PER_TARGET` one-time keys of each kind. */
async function targets(count: number): Promise<TestAccount[]> {
  const accounts: TestAccount[] = [];
  for (let i = 0; i < count; i++) {
    const account = await registerTestAccount(
      platform,
      `+1415556${String(numbers++).padStart(4, '0')}`,
    );
    await uploadOneTimeKeys(
      platform.gatewayUrl,
      account.token,
      'ACI',
      TestSignalStores.forIdentity(account.aciIdentity),
      generateOneTimePreKeys(KEYS_PER_TARGET, 1000),
      generateKyberPreKeys(account.aciIdentity.identityKeyPair, KEYS_PER_TARGET, 2000),
    );
    accounts.push(account);
  }
  return accounts;
}

async function measure(
  label: string,
  url: string,
  headers: Record<string, string>,
  token: string,
  accounts: readonly TestAccount[],
  warmupTarget: TestAccount,
) {
  let claimed = 0;
  const send = async (target: TestAccount) => {
    const { body } = await postGraphQL(url, BUNDLE, {
      token,
      headers,
      variables: { id: target.aci },
    });
    const typed = body as BundleBody;
    if (typed.errors || !typed.data?.preKeyBundle) {
      throw new Error(`benchmark fetch failed: ${JSON.stringify(typed.errors)}`);
    }
    return typed.data.preKeyBundle.devices[0]?.preKey !== null;
  };
  // Warm-up against an account without one-time keys (last-resort bundles, nothing consumed).
  for (let i = 0; i < WARMUP; i++) await send(warmupTarget);
  const result = await closedLoop(
    label,
    { requests: REQUESTS, concurrency: CONCURRENCY },
    async (i) => {
      if (await send(accounts[i % accounts.length]!)) claimed++;
    },
  );
  report(result, 'bundles/s', `  (${claimed}/${result.requests} with one-time keys)`);
  return { ...result, oneTimeKeysClaimed: claimed };
}

try {
  const caller = await registerTestAccount(platform, '+14155569999');
  const warmupTarget = await registerTestAccount(platform, '+14155569998');
  const directTargets = await targets(TARGETS);
  const gatewayTargets = await targets(TARGETS);
  const direct = await measure(
    'direct keys subgraph',
    platform.subgraphs.keys.url,
    { 'x-router-secret': platform.routerSecret },
    caller.token,
    directTargets,
    warmupTarget,
  );
  const routed = await measure(
    'via gateway',
    platform.gatewayUrl,
    {},
    caller.token,
    gatewayTargets,
    warmupTarget,
  );
  const gatewayToDirect = Number((routed.perSecond / direct.perSecond).toFixed(3));
  console.log(`ratio gateway/direct ${gatewayToDirect}`);
  await writeResults('prekey-bundle', {
    concurrency: CONCURRENCY,
    requestsPerMode: REQUESTS,
    results: [direct, routed],
    ratios: { gatewayToDirect },
  });
} finally {
  await platform.stop();
}
