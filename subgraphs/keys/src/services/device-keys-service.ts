import type { IdentityType } from '@courier/db';
import { NotFoundError } from '@courier/errors';
import type {
  DeviceKeysRepository,
  IdentityKeySet,
} from '../repositories/device-keys-repository.ts';
import {
  parseIdentityKey,
  verifySignedEcPreKey,
  verifySignedKyberPreKey,
} from './key-validation.ts';

/** A device's keys at registration, for both identities. */
export interface InitialDeviceKeys {
  readonly aci: string;
  readonly deviceId: number;
  /** Re-registration of the account: every earlier key of it goes. */
  readonly replaceAccount: boolean;
  readonly identities: Readonly<Record<IdentityType, IdentityKeySet>>;
}

/** A linked device's keys: signed prekeys for both identities, under the account's identity keys. */
export interface LinkedDeviceKeys {
  readonly aci: string;
  readonly deviceId: number;
  readonly identities: Readonly<Record<IdentityType, Omit<IdentityKeySet, 'identityKey'>>>;
}

/**
 * The keys subgraph's side of registration: every key is parsed and every signature checked
 * with libsignal before anything is written, so a bad key changes nothing.
 */
export class DeviceKeysService {
  readonly #repository: DeviceKeysRepository;

  constructor(repository: DeviceKeysRepository) {
    this.#repository = repository;
  }

  async storeInitialKeys(keys: InitialDeviceKeys): Promise<void> {
    for (const identity of ['ACI', 'PNI'] as const) {
      const prefix = identity.toLowerCase();
      const set = keys.identities[identity];
      const identityKey = parseIdentityKey(set.identityKey, `${prefix}IdentityKey`);
      verifySignedEcPreKey(identityKey, set.signedPreKey, `${prefix}SignedPreKey`);
      verifySignedKyberPreKey(identityKey, set.pqLastResortPreKey, `${prefix}PqLastResortPreKey`);
    }
    await this.#repository.storeInitialKeys(
      keys.aci,
      keys.deviceId,
      keys.identities,
      keys.replaceAccount,
    );
  }

  /**
   * The keys subgraph's side of device linking: a linked device shares the account's identity
   * keys, so its signed prekeys must be signed by the identity keys already stored for the
   * account; keys signed by any other identity are refused (`BAD_USER_INPUT` naming the field)
   * and nothing is written. An account without stored identity keys is `NOT_FOUND`.
   */
  async storeLinkedDeviceKeys(keys: LinkedDeviceKeys): Promise<void> {
    const stored = await this.#repository.findIdentityKeys(keys.aci);
    for (const identity of ['ACI', 'PNI'] as const) {
      const prefix = identity.toLowerCase();
      const bytes = stored[identity];
      if (!bytes) throw new NotFoundError('The account has no identity keys');
      const identityKey = parseIdentityKey(bytes, `${prefix}IdentityKey`);
      const set = keys.identities[identity];
      verifySignedEcPreKey(identityKey, set.signedPreKey, `${prefix}SignedPreKey`);
      verifySignedKyberPreKey(identityKey, set.pqLastResortPreKey, `${prefix}PqLastResortPreKey`);
    }
    await this.#repository.storeLinkedDeviceKeys(keys.aci, keys.deviceId, keys.identities);
  }

  deleteAccountKeys(aci: string): Promise<void> {
    return this.#repository.deleteAccount(aci);
  }

  deleteDeviceKeys(aci: string, deviceId: number): Promise<void> {
    return this.#repository.deleteDevice(aci, deviceId);
  }
}
