import { loadOrExit, parseEnv, z } from '@courier/config';
import { runSubgraph } from '@courier/server';
import { createMessagesServer } from './server.ts';

const env = loadOrExit(() =>
  parseEnv(
    z.object({
      ACCOUNTS_INTERNAL_URL: z.url().default('http://127.0.0.1:4001'),
      KEYS_INTERNAL_URL: z.url().default('http://127.0.0.1:4002'),
    }),
  ),
);

await runSubgraph('messages', 4003, (runtime) =>
  createMessagesServer(runtime, {
    accountsUrl: env.ACCOUNTS_INTERNAL_URL,
    keysUrl: env.KEYS_INTERNAL_URL,
  }),
);
