import path from 'node:path';
import { loadOrExit, parseEnv } from '@courier/config';
import { runSubgraph } from '@courier/server';
import { attachmentsEnv, attachmentsSettingsFromEnv } from './config.ts';
import { createAttachmentsServer } from './server.ts';

const settings = attachmentsSettingsFromEnv(
  loadOrExit(() => parseEnv(attachmentsEnv)),
  path.join(process.cwd(), '.data', 'attachments'),
);

await runSubgraph('attachments', (runtime) => createAttachmentsServer(runtime, settings));
