import tls from 'node:tls';
import { loadOrExit } from '@courier/config';
import { createGatewayConfig } from './src/config.ts';
import { gatewayOptionsFromEnv, loadGatewayEnv } from './src/env.ts';
import { setUpGatewayTracing } from './src/tracing.ts';

/**
 * Router configuration for the `hive-gateway` CLI, built from the same environment (`src/env.ts`)
 * and the same function (`createGatewayConfig`, `src/config.ts`) as our runner `src/index.ts`.
 * From the repository root:
 * `npx hive-gateway supergraph schema/supergraph.graphql -c gateway/gateway.config.ts`;
 * from `gateway/`: `npm run start:cli` (the config is found by name, the supergraph read from
 * `SUPERGRAPH_PATH`).
 */
const options = gatewayOptionsFromEnv(loadOrExit(() => loadGatewayEnv()));

if (options.tls) tls.DEFAULT_MIN_VERSION = 'TLSv1.3';

export const gatewayConfig = createGatewayConfig(options, await setUpGatewayTracing());
