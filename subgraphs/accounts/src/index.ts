import { loadOrExit, parseEnv, z } from '@courier/config';
import { runSubgraph } from '@courier/server';
import { createAccountsServer } from './server.ts';

const env = loadOrExit(() =>
  parseEnv(
    z.object({
      KEYS_INTERNAL_URL: z.url().default('http://127.0.0.1:4002'),
      ATTACHMENTS_INTERNAL_URL: z.url().default('http://127.0.0.1:4005'),
    }),
  ),
);

await runSubgraph('accounts', 4001, (runtime) =>
  createAccountsServer(runtime, {
    keysUrl: env.KEYS_INTERNAL_URL,
    attachmentsUrl: env.ATTACHMENTS_INTERNAL_URL,
  }),
);
