import type { AuthenticatedDevice } from '@courier/auth';
import { NotFoundError } from '@courier/errors';
import type { AccountRecord, AccountRepository } from '../repositories/account-repository.ts';
import { isUuid } from '@courier/server';

/** Rules about reading accounts. */
export class AccountService {
  readonly #accounts: AccountRepository;

  constructor(accounts: AccountRepository) {
    this.#accounts = accounts;
  }

  /** The caller's own account; a token whose account is gone is treated as not found. */
  async getOwnAccount(device: AuthenticatedDevice): Promise<AccountRecord> {
    const account = await this.#accounts.findByAci(device.aci);
    if (!account) throw new NotFoundError('Account not found');
    return account;
  }

  /** Resolves an `Account` entity reference for the router; unknown or malformed ids give null. */
  async resolveReference(aci: string): Promise<AccountRecord | null> {
    if (!isUuid(aci.toLowerCase())) return null;
    return this.#accounts.findByAci(aci.toLowerCase());
  }
}
