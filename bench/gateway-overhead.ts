import { mkdir, writeFile } from 'node:fs/promises';
import { postGraphQL, registerTestAccount, startPlatform } from '@courier/testing';

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
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        const t = performance.now();
        await send();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const result = {
    label,
    requests: latencies.length,
    rps: Math.round(latencies.length / seconds),
    p50ms: Number(latencies[Math.floor(latencies.length * 0.5)]!.toFixed(2)),
    p99ms: Number(latencies[Math.floor(latencies.length * 0.99)]!.toFixed(2)),
  };
  console.log(
    `${label.padEnd(34)} ${String(result.rps).padStart(6)} req/s  p50 ${result.p50ms} ms  p99 ${result.p99ms} ms`,
  );
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
    gatewayToDirect: Number((routed.rps / direct.rps).toFixed(3)),
    joinToDirect: Number((joined.rps / direct.rps).toFixed(3)),
  };
  console.log(
    `ratios: gateway/direct ${ratios.gatewayToDirect}, join/direct ${ratios.joinToDirect}`,
  );
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(
    new URL('./results/gateway-overhead.json', import.meta.url),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        concurrency: CONCURRENCY,
        results: [direct, routed, joined],
        ratios,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await platform.stop();
}
