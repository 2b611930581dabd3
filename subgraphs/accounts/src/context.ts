import type { BaseContext } from '@courier/server';
import type { AccountService } from './services/account-service.ts';

/** The accounts subgraph's GraphQL context. */
export interface AccountsContext extends BaseContext {
  readonly accounts: AccountService;
}
