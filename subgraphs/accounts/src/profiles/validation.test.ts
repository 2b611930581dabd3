import { randomBytes, randomUUID } from 'node:crypto';
import { ErrorCode } from '@courier/errors';
import { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import { ProfileKey } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { describe, expect, it } from 'vitest';
import {
  normalizeProfileVersion,
  validateProfileInput,
  type SetProfileInput,
} from './validation.ts';

const bytes = (length: number) => new Uint8Array(randomBytes(length));

function validInput(overrides: Partial<SetProfileInput> = {}): SetProfileInput {
  const aci = Aci.fromUuid(randomUUID());
  const key = new ProfileKey(bytes(32));
  return {
    version: key.getProfileKeyVersion(aci).toString(),
    commitment: key.getCommitment(aci).serialize(),
    name: bytes(81),
    about: bytes(156),
    aboutEmoji: bytes(60),
    paymentAddress: null,
    avatar: 'KEEP',
    ...overrides,
  };
}

function refusal(input: SetProfileInput): { code: unknown; field: unknown } {
  try {
    validateProfileInput(input);
  } catch (error) {
    const extensions = (error as { extensions: Record<string, unknown> }).extensions;
    return { code: extensions['code'], field: extensions['field'] };
  }
  throw new Error('expected a refusal');
}

describe('validateProfileInput', () => {
  it('accepts Signal-sized ciphertexts and normalises the version', () => {
    const input = validInput({ version: 'ABCDEF0123', name: bytes(285), about: bytes(540) });
    const write = validateProfileInput(input);
    expect(write.version).toBe('abcdef0123');
    expect(write.name).toHaveLength(285);
    expect(write.about).toHaveLength(540);
    expect(write.paymentAddress).toBeNull();
  });

  it('stores empty optional ciphertexts as null', () => {
    const write = validateProfileInput(validInput({ about: new Uint8Array(0), aboutEmoji: null }));
    expect(write.about).toBeNull();
    expect(write.aboutEmoji).toBeNull();
  });

  it.each([0, 80, 82, 284, 286])('refuses a %i-byte name naming input.name', (size) => {
    expect(refusal(validInput({ name: bytes(size) }))).toEqual({
      code: ErrorCode.BAD_USER_INPUT,
      field: 'input.name',
    });
  });

  it.each([
    ['about', 541],
    ['aboutEmoji', 61],
    ['paymentAddress', 583],
  ] as const)('refuses an oversize %s', (field, size) => {
    expect(refusal(validInput({ [field]: bytes(size) }))).toEqual({
      code: ErrorCode.BAD_USER_INPUT,
      field: `input.${field}`,
    });
  });

  it('accepts a payment address at the limit', () => {
    expect(
      validateProfileInput(validInput({ paymentAddress: bytes(582) })).paymentAddress,
    ).toHaveLength(582);
  });

  it.each(['', 'xyz', 'a'.repeat(65), '12 34'])('refuses the version %j', (version) => {
    expect(refusal(validInput({ version }))).toEqual({
      code: ErrorCode.BAD_USER_INPUT,
      field: 'input.version',
    });
  });

  it('refuses a commitment that does not deserialize', () => {
    expect(refusal(validInput({ commitment: bytes(12) }))).toEqual({
      code: ErrorCode.BAD_USER_INPUT,
      field: 'input.commitment',
    });
  });

  it('refuses an avatar over 10 MiB with PAYLOAD_TOO_LARGE', () => {
    const input = validInput({ avatar: 'UPLOAD', avatarUploadLength: 10 * 1024 * 1024 + 1 });
    expect(refusal(input).code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    expect(
      validateProfileInput({ ...input, avatarUploadLength: 10 * 1024 * 1024 }).avatarUploadLength,
    ).toBe(10 * 1024 * 1024);
  });

  it('refuses an upload length without UPLOAD, and a non-positive one', () => {
    expect(refusal(validInput({ avatar: 'KEEP', avatarUploadLength: 10 })).field).toBe(
      'input.avatarUploadLength',
    );
    expect(refusal(validInput({ avatar: 'UPLOAD', avatarUploadLength: 0 })).field).toBe(
      'input.avatarUploadLength',
    );
  });
});

describe('normalizeProfileVersion', () => {
  it('lower-cases hex and names the field on refusal', () => {
    expect(normalizeProfileVersion('AbC1', 'version')).toBe('abc1');
    expect(() => normalizeProfileVersion('nothex', 'version')).toThrow(/version/);
  });
});
