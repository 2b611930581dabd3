import { loadOrExit, parseEnv } from '@courier/config';
import { internalApiEnv, runSubgraph } from '@courier/server';
import { createKeysServer } from './server.ts';

const env = loadOrExit(() => parseEnv(internalApiEnv));

await runSubgraph('keys', (runtime) =>
  createKeysServer(runtime, { accountsUrl: env.ACCOUNTS_INTERNAL_URL }),
);
