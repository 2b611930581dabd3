import { postGraphQL, registerTestAccount, startPlatform } from '@courier/testing';
import { closedLoop, report, writeResults } from './load.ts';

/**
 * What the router costs: the same authenticated query (`me { aci }`) sent straight to the
 * accounts subgraph (with the router secret) and through the gateway, in the same run, with the
 * same concurrency. Also a two-subgraph join through the gateway. Prints requests/s and ratios
 * and writes `bench/results/gateway-overhead.json`. Bounded: a fixed number of requests.
 */
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 3000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 10);

async function measure(label: string, send: () => Promise<void>) {
  for (let i = 0; i < 200; i++) await send();
  const result = await closedLoop(label, { requests: REQUESTS, concurrency: CONCURRENCY }, send);
  report(result);
  return result;
}

const platform = await startPlatform();
try {
  const { token } = await registerTestAccount(platform, '+14155550199');
  const expectOk = (body: { errors?: unknown }) => {
    if (body.errors) throw new Error(`benchmark query failed: ${JSON.stringify(body.errors)}`);
  };
  const direct = await measure('direct subgraph  me { aci }', async () => {
    const { body } = await postGraphQL(platform.subgraphs.accounts.url, '{ me { aci } }', {
      token,
      headers: { 'x-router-secret': platform.routerSecret },
    });
    expectOk(body);
  });
  const routed = await measure('via gateway      me { aci }', async () => {
    const { body } = await postGraphQL(platform.gatewayUrl, '{ me { aci } }', { token });
    expectOk(body);
  });
  const joined = await measure('via gateway      me { aci identityKey }', async () => {
    const { body } = await postGraphQL(platform.gatewayUrl, '{ me { aci identityKey } }', {
      token,
    });
    expectOk(body);
  });
  const ratios = {
    gatewayToDirect: Number((routed.perSecond / direct.perSecond).toFixed(3)),
    joinToDirect: Number((joined.perSecond / direct.perSecond).toFixed(3)),
  };
  console.log(
    `ratios: gateway/direct ${ratios.gatewayToDirect}, join/direct ${ratios.joinToDirect}`,
  );
  await writeResults('gateway-overhead', {
    concurrency: CONCURRENCY,
    results: [direct, routed, joined],
    ratios,
  });
} finally {
  await platform.stop();
}
