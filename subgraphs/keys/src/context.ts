import type { BaseContext } from '@courier/server';
import type { IdentityKeyService } from './services/identity-key-service.ts';
import type { PreKeyService } from './services/prekey-service.ts';

/** The keys subgraph's GraphQL context. */
export interface KeysContext extends BaseContext {
  readonly identityKeys: IdentityKeyService;
  /** Prekey uploads, counts, bundles and key checks. */
  readonly preKeys: PreKeyService;
}
