import { loadOrExit, parseEnv, z } from '@courier/config';
import { internalApiEnv, runSubgraph } from '@courier/server';
import { createGroupsServer } from './server.ts';

const env = loadOrExit(() =>
  parseEnv(
    internalApiEnv.extend({
      GROUP_MAX_MEMBERS: z.coerce.number().int().min(1).max(100_000).default(1000),
    }),
  ),
);

await runSubgraph('groups', (runtime) =>
  createGroupsServer(runtime, {
    accountsUrl: env.ACCOUNTS_INTERNAL_URL,
    limits: { maxMembers: env.GROUP_MAX_MEMBERS },
  }),
);
