import type { GatewayPlugin } from '@graphql-hive/gateway';
import { probeSubgraph } from './subgraphs.ts';

/** Path of the readiness probe (Hive Gateway's default). */
export const READINESS_ENDPOINT = '/readiness';

/** Path of the liveness probe (Hive Gateway's default). */
export const HEALTHCHECK_ENDPOINT = '/healthcheck';

/**
 * Extends Hive Gateway's readiness check, which answers 200 once the supergraph is loaded, with
 * subgraph reachability: after Hive's 200, every subgraph is probed and any that does not answer
 * turns the response into 503 `{ "ready": false, "unreachable": [names] }`.
 */
export function useSubgraphReadiness(options: {
  locations: Readonly<Record<string, string>>;
  routerSecret: string;
  timeoutMs: number;
}): GatewayPlugin {
  const subgraphs = Object.entries(options.locations);
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      if (response.status !== 200 || new URL(request.url).pathname !== READINESS_ENDPOINT) return;
      const reachable = await Promise.all(
        subgraphs.map(([, url]) => probeSubgraph(url, options.routerSecret, options.timeoutMs)),
      );
      const unreachable = subgraphs.filter((_, index) => !reachable[index]).map(([name]) => name);
      if (unreachable.length === 0) return;
      setResponse(
        new fetchAPI.Response(JSON.stringify({ ready: false, unreachable }), {
          status: 503,
          headers: { 'content-type': 'application/json; charset=utf-8' },
        }),
      );
    },
  };
}
