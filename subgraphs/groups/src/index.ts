import { runSubgraph } from '@courier/server';
import { createGroupsServer } from './server.ts';

await runSubgraph('groups', 4004, createGroupsServer);
