import { loadOrExit, parseEnv, z } from '@courier/config';
import { runSubgraph } from '@courier/server';
import { createGroupsServer } from './server.ts';

const env = loadOrExit(() =>
  parseEnv(
    z.object({
      ACCOUNTS_INTERNAL_URL: z.url().default('http://127.0.0.1:4001'),
      GROUP_MAX_MEMBERS: z.coerce.number().int().min(1).max(100_000).default(1000),
    }),
  ),
);

await runSubgraph('groups', 4004, (runtime) =>
  createGroupsServer(runtime, {
    accountsUrl: env.ACCOUNTS_INTERNAL_URL,
    limits: { maxMembers: env.GROUP_MAX_MEMBERS },
  }),
);
