import type { AuthenticatedDevice } from '@courier/auth';
import { BadUserInputError, ForbiddenError, NotFoundError } from '@courier/errors';
import type { DeviceCredentials } from '@courier/server';
import type { KeysClient } from '../clients/keys-client.ts';
import type { AccountRepository } from '../repositories/account-repository.ts';

/** Primary device id. */
export const PRIMARY_DEVICE_ID = 1;

/** Device management: removal, with its keys and every token and socket of the device. */
export class DeviceService {
  readonly #accounts: AccountRepository;
  readonly #keys: KeysClient;
  readonly #credentials: DeviceCredentials;

  constructor(accounts: AccountRepository, keys: KeysClient, credentials: DeviceCredentials) {
    this.#accounts = accounts;
    this.#keys = keys;
    this.#credentials = credentials;
  }

  /**
   * Removes a device of the caller's account. The primary may remove any linked device; a
   * linked device may remove only itself; the primary cannot be removed (delete the account).
   * Its tokens stop working and its open subscriptions close at once, on every instance.
   */
  async removeDevice(caller: AuthenticatedDevice, deviceId: number): Promise<void> {
    if (!Number.isInteger(deviceId) || deviceId < 1 || deviceId > 127) {
      throw new BadUserInputError('deviceId must be between 1 and 127', 'deviceId');
    }
    if (deviceId === PRIMARY_DEVICE_ID) {
      throw new ForbiddenError('The primary device cannot be removed; delete the account instead');
    }
    if (caller.deviceId !== PRIMARY_DEVICE_ID && caller.deviceId !== deviceId) {
      throw new ForbiddenError('A linked device can remove only itself');
    }
    if (!(await this.#accounts.deleteDevice(caller.aci, deviceId))) {
      throw new NotFoundError('No such device');
    }
    await this.#credentials.revoke(caller.aci, deviceId);
    await this.#keys.deleteDeviceKeys(caller.aci, deviceId);
  }
}
