import type { AuthenticatedDevice } from '@courier/auth';
import { ForbiddenError } from '@courier/errors';
import type { BlockListVersions, DeviceCredentials } from '@courier/server';
import type { KeysClient } from '../clients/keys-client.ts';
import type { AccountEventsRepository } from '../repositories/account-events-repository.ts';
import type { AccountRepository } from '../repositories/account-repository.ts';
import { PRIMARY_DEVICE_ID } from './device-service.ts';

/**
 * Account deletion, from the primary device: the account and everything accounts holds for it
 * go in one statement; every device's tokens and sockets are revoked; keys deletes the key
 * material at once (internal API); the bus tells messages and groups to drop queued messages
 * and memberships. The number can register again, as a new account. The account's blocks go
 * with it, so its block-list version token is renewed last (when given).
 */
export class AccountDeletionService {
  readonly #accounts: AccountRepository;
  readonly #events: AccountEventsRepository;
  readonly #keys: KeysClient;
  readonly #credentials: DeviceCredentials;
  readonly #blockListVersions: BlockListVersions | undefined;

  constructor(deps: {
    accounts: AccountRepository;
    events: AccountEventsRepository;
    keys: KeysClient;
    credentials: DeviceCredentials;
    blockListVersions?: BlockListVersions | undefined;
  }) {
    this.#accounts = deps.accounts;
    this.#events = deps.events;
    this.#keys = deps.keys;
    this.#credentials = deps.credentials;
    this.#blockListVersions = deps.blockListVersions;
  }

  async deleteAccount(caller: AuthenticatedDevice): Promise<void> {
    if (caller.deviceId !== PRIMARY_DEVICE_ID) {
      throw new ForbiddenError('Only the primary device can delete the account');
    }
    const devices = await this.#accounts.listDevices(caller.aci);
    await this.#accounts.deleteAccount(caller.aci);
    for (const device of devices) await this.#credentials.revoke(caller.aci, device.deviceId);
    await this.#keys.deleteAccountKeys(caller.aci);
    await this.#events.accountDeleted(caller.aci);
    await this.#blockListVersions?.renew(caller.aci);
  }
}
