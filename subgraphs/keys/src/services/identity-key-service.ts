import type { IdentityType } from '@courier/db';
import type { IdentityKeyRepository } from '../repositories/identity-key-repository.ts';

/** Rules about public identity keys (public to everyone: clients verify them out of band). */
export class IdentityKeyService {
  readonly #keys: IdentityKeyRepository;

  constructor(keys: IdentityKeyRepository) {
    this.#keys = keys;
  }

  identityKeyOf(aci: string, identity: IdentityType): Promise<Uint8Array | null> {
    return this.#keys.find(aci, identity);
  }
}
