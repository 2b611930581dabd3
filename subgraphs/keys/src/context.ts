import type { BaseContext } from '@courier/server';
import type { IdentityKeyService } from './services/identity-key-service.ts';

/** The keys subgraph's GraphQL context. */
export interface KeysContext extends BaseContext {
  readonly identityKeys: IdentityKeyService;
}
