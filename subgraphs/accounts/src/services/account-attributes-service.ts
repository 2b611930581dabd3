import { randomUUID } from 'node:crypto';
import type { AuthenticatedDevice, TokenService } from '@courier/auth';
import { ForbiddenError, NotFoundError } from '@courier/errors';
import type { DeviceCredentials } from '@courier/server';
import type { AccountRepository, DeviceRecord } from '../repositories/account-repository.ts';
import { checkDeviceAttributes, type DeviceAttributesInput } from './device-attributes.ts';
import { hashPassword } from './device-password.ts';
import { PRIMARY_DEVICE_ID } from './device-service.ts';
import type { AccessToken } from './session-service.ts';

/** `setAccountAttributes`' input: absent fields stay as they are. */
export interface AccountAttributesInput extends DeviceAttributesInput {
  readonly unrestrictedUnidentifiedAccess?: boolean | null;
}

/** The device after the change, and a fresh token when the password changed. */
export interface AttributesChange {
  readonly device: DeviceRecord;
  readonly accessToken: AccessToken | null;
}

/**
 * Attribute changes of the calling device (registration ids, name, capabilities, password) and,
 * from the primary only, of the account (unidentified access key and whether it is required).
 * A new password gives the device new credentials: every earlier token of the device stops
 * working at once and its open subscriptions close; the caller gets a token for the new ones.
 */
export class AccountAttributesService {
  readonly #accounts: AccountRepository;
  readonly #tokens: TokenService;
  readonly #credentials: DeviceCredentials;

  constructor(accounts: AccountRepository, tokens: TokenService, credentials: DeviceCredentials) {
    this.#accounts = accounts;
    this.#tokens = tokens;
    this.#credentials = credentials;
  }

  async setAttributes(
    caller: AuthenticatedDevice,
    input: AccountAttributesInput,
  ): Promise<AttributesChange> {
    checkDeviceAttributes(input);
    const changesAccount =
      input.unidentifiedAccessKey != null || input.unrestrictedUnidentifiedAccess != null;
    if (changesAccount && caller.deviceId !== PRIMARY_DEVICE_ID) {
      throw new ForbiddenError(
        'Only the primary device can change the account\u2019s access settings',
      );
    }
    const password = input.password != null ? hashPassword(input.password) : undefined;
    const credentialId = password ? randomUUID() : undefined;
    const device = await this.#accounts.updateAttributes(
      caller.aci,
      caller.deviceId,
      {
        ...(input.registrationId != null ? { registrationId: input.registrationId } : {}),
        ...(input.pniRegistrationId != null ? { pniRegistrationId: input.pniRegistrationId } : {}),
        ...(input.encryptedDeviceName != null
          ? { encryptedName: new Uint8Array(input.encryptedDeviceName) }
          : {}),
        ...(input.capabilities != null ? { capabilities: [...input.capabilities] } : {}),
        ...(password && credentialId
          ? { passwordHash: password.hash, passwordSalt: password.salt, credentialId }
          : {}),
      },
      {
        ...(input.unidentifiedAccessKey != null
          ? { unidentifiedAccessKey: input.unidentifiedAccessKey }
          : {}),
        ...(input.unrestrictedUnidentifiedAccess != null
          ? { unrestrictedUnidentifiedAccess: input.unrestrictedUnidentifiedAccess }
          : {}),
      },
    );
    if (!device) throw new NotFoundError('Device not found');
    if (!credentialId) return { device, accessToken: null };
    await this.#credentials.revoke(caller.aci, caller.deviceId);
    await this.#credentials.remember(caller.aci, caller.deviceId, credentialId);
    const { token, expiresAt } = await this.#tokens.issue({
      aci: caller.aci,
      deviceId: caller.deviceId,
      credentialId,
    });
    return { device, accessToken: { accessToken: token, expiresAt } };
  }
}
