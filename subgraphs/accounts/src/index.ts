import { loadOrExit, parseEnv } from '@courier/config';
import { internalApiEnv, runSubgraph } from '@courier/server';
import { createAccountsServer } from './server.ts';

const env = loadOrExit(() => parseEnv(internalApiEnv));

await runSubgraph('accounts', (runtime) =>
  createAccountsServer(runtime, {
    keysUrl: env.KEYS_INTERNAL_URL,
    attachmentsUrl: env.ATTACHMENTS_INTERNAL_URL,
  }),
);
