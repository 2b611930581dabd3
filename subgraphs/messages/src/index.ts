import { runSubgraph } from '@courier/server';
import { createMessagesServer } from './server.ts';

await runSubgraph('messages', 4003, createMessagesServer);
