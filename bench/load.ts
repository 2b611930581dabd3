import { mkdir, writeFile } from 'node:fs/promises';

/** Figures of one closed-loop run. */
export interface LoadResult {
  readonly label: string;
  readonly requests: number;
  readonly perSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
}

/**
 * Closed-loop load: `concurrency` workers send `requests` requests in total as fast as answers
 * come back, recording each latency. Bounded by the request count, so it always stops.
 */
export async function closedLoop(
  label: string,
  options: { requests: number; concurrency: number },
  send: (index: number) => Promise<void>,
): Promise<LoadResult> {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      for (let i = next++; i < options.requests; i = next++) {
        const t = performance.now();
        await send(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Number(latencies[Math.floor(latencies.length * q)]!.toFixed(2));
  return {
    label,
    requests: latencies.length,
    perSecond: Math.round(latencies.length / seconds),
    p50ms: at(0.5),
    p99ms: at(0.99),
  };
}

/** Prints one result line. */
export function report(result: LoadResult, unit = 'req/s', extra = ''): void {
  console.log(
    `${result.label.padEnd(34)} ${String(result.perSecond).padStart(6)} ${unit}  p50 ${result.p50ms} ms  p99 ${result.p99ms} ms${extra}`,
  );
}

/** Writes `bench/results/<name>.json` with the run's date. */
export async function writeResults(name: string, figures: Record<string, unknown>): Promise<void> {
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(
    new URL(`./results/${name}.json`, import.meta.url),
    `${JSON.stringify({ date: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
}
