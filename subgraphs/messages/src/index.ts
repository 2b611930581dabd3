import { loadOrExit, parseEnv } from '@courier/config';
import { internalApiEnv, runSubgraph } from '@courier/server';
import { createMessagesServer } from './server.ts';

const env = loadOrExit(() => parseEnv(internalApiEnv));

await runSubgraph('messages', (runtime) =>
  createMessagesServer(runtime, {
    accountsUrl: env.ACCOUNTS_INTERNAL_URL,
    keysUrl: env.KEYS_INTERNAL_URL,
  }),
);
