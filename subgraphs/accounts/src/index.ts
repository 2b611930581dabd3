import { runSubgraph } from '@courier/server';
import { createAccountsServer } from './server.ts';

await runSubgraph('accounts', 4001, createAccountsServer);
