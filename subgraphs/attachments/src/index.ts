import { runSubgraph } from '@courier/server';
import { createAttachmentsServer } from './server.ts';

await runSubgraph('attachments', 4005, createAttachmentsServer);
