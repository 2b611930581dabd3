import { randomUUID } from 'node:crypto';
import { BadUserInputError } from '@courier/errors';
import { checkPasswordShape, hashPassword } from './device-password.ts';

/** Registration ids are 14 bits and never 0. */
export const MAX_REGISTRATION_ID = 0x3fff;
/** Largest encrypted device name, in bytes. */
export const MAX_DEVICE_NAME_BYTES = 256;
/** Capabilities a device may declare, at most, and their longest name. */
export const MAX_CAPABILITIES = 32;
export const MAX_CAPABILITY_LENGTH = 64;
/** Unidentified access keys are 16 bytes. */
export const UNIDENTIFIED_ACCESS_KEY_BYTES = 16;

/** Attributes a device declares at registration, linking and `setAccountAttributes`. */
export interface DeviceAttributesInput {
  readonly password?: string | null;
  readonly registrationId?: number | null;
  readonly pniRegistrationId?: number | null;
  readonly encryptedDeviceName?: Uint8Array | null;
  readonly capabilities?: readonly string[] | null;
  readonly unidentifiedAccessKey?: Uint8Array | null;
}

function checkRegistrationId(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_REGISTRATION_ID) {
    throw new BadUserInputError(`${field} must be between 1 and ${MAX_REGISTRATION_ID}`, field);
  }
}

/**
 * Validates whichever device attributes are present (absent means unchanged or defaulted);
 * the one rule set for registration, linking and attribute changes.
 */
export function checkDeviceAttributes(input: DeviceAttributesInput): void {
  if (input.password != null) checkPasswordShape(input.password);
  if (input.registrationId != null) checkRegistrationId(input.registrationId, 'registrationId');
  if (input.pniRegistrationId != null) {
    checkRegistrationId(input.pniRegistrationId, 'pniRegistrationId');
  }
  if ((input.encryptedDeviceName?.length ?? 0) > MAX_DEVICE_NAME_BYTES) {
    throw new BadUserInputError(
      `encryptedDeviceName must be at most ${MAX_DEVICE_NAME_BYTES} bytes`,
      'encryptedDeviceName',
    );
  }
  const capabilities = input.capabilities ?? [];
  if (
    capabilities.length > MAX_CAPABILITIES ||
    capabilities.some((c) => c.length === 0 || c.length > MAX_CAPABILITY_LENGTH)
  ) {
    throw new BadUserInputError(
      `capabilities: at most ${MAX_CAPABILITIES} names of 1 to ${MAX_CAPABILITY_LENGTH} characters`,
      'capabilities',
    );
  }
  const uak = input.unidentifiedAccessKey;
  if (uak && uak.length !== UNIDENTIFIED_ACCESS_KEY_BYTES) {
    throw new BadUserInputError(
      `unidentifiedAccessKey must be ${UNIDENTIFIED_ACCESS_KEY_BYTES} bytes`,
      'unidentifiedAccessKey',
    );
  }
}

/** What a new device's row holds, derived from its declared attributes. */
export interface NewDeviceFields {
  readonly credentialId: string;
  readonly passwordHash: Uint8Array<ArrayBuffer>;
  readonly passwordSalt: Uint8Array<ArrayBuffer>;
  readonly registrationId: number;
  readonly pniRegistrationId: number;
  readonly encryptedName: Uint8Array<ArrayBuffer> | null;
  readonly capabilities: string[];
}

/**
 * The row of a new device (registration or linking): fresh credentials (a random credential id
 * that its tokens will name, the password's salted hash) and its declared attributes.
 */
export function newDeviceFields(input: {
  readonly password: string;
  readonly registrationId: number;
  readonly pniRegistrationId: number;
  readonly encryptedDeviceName?: Uint8Array | null;
  readonly capabilities?: readonly string[] | null;
}): NewDeviceFields {
  const password = hashPassword(input.password);
  return {
    credentialId: randomUUID(),
    passwordHash: password.hash,
    passwordSalt: password.salt,
    registrationId: input.registrationId,
    pniRegistrationId: input.pniRegistrationId,
    encryptedName: input.encryptedDeviceName ? new Uint8Array(input.encryptedDeviceName) : null,
    capabilities: [...(input.capabilities ?? [])],
  };
}
