import { describe, expect, it } from 'vitest';
import {
  MAX_CAPABILITIES,
  MAX_CAPABILITY_LENGTH,
  MAX_DEVICE_NAME_BYTES,
  MAX_REGISTRATION_ID,
  checkDeviceAttributes,
} from './device-attributes.ts';

const fieldOf = (input: Parameters<typeof checkDeviceAttributes>[0]) => {
  try {
    checkDeviceAttributes(input);
    return undefined;
  } catch (error) {
    return (error as { extensions?: { field?: string } }).extensions?.field;
  }
};

describe('checkDeviceAttributes', () => {
  it('accepts every attribute at its limit', () => {
    expect(
      fieldOf({
        password: 'x'.repeat(128),
        registrationId: MAX_REGISTRATION_ID,
        pniRegistrationId: 1,
        encryptedDeviceName: new Uint8Array(MAX_DEVICE_NAME_BYTES),
        capabilities: Array.from({ length: MAX_CAPABILITIES }, () =>
          'c'.repeat(MAX_CAPABILITY_LENGTH),
        ),
        unidentifiedAccessKey: new Uint8Array(16),
      }),
    ).toBeUndefined();
    expect(fieldOf({})).toBeUndefined();
  });

  it('refuses each attribute one past its limit, naming the field', () => {
    expect(fieldOf({ registrationId: MAX_REGISTRATION_ID + 1 })).toBe('registrationId');
    expect(fieldOf({ pniRegistrationId: 0 })).toBe('pniRegistrationId');
    expect(fieldOf({ encryptedDeviceName: new Uint8Array(MAX_DEVICE_NAME_BYTES + 1) })).toBe(
      'encryptedDeviceName',
    );
    expect(
      fieldOf({ capabilities: Array.from({ length: MAX_CAPABILITIES + 1 }, (_, i) => `c${i}`) }),
    ).toBe('capabilities');
    expect(fieldOf({ capabilities: ['c'.repeat(MAX_CAPABILITY_LENGTH + 1)] })).toBe('capabilities');
    expect(fieldOf({ capabilities: [''] })).toBe('capabilities');
    expect(fieldOf({ unidentifiedAccessKey: new Uint8Array(15) })).toBe('unidentifiedAccessKey');
  });
});
