import { runSubgraph } from '@courier/server';
import { createKeysServer } from './server.ts';

await runSubgraph('keys', 4002, createKeysServer);
