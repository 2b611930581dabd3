import { BadUserInputError, PayloadTooLargeError } from '@courier/errors';
import { ProfileKeyCommitment } from '@signalapp/libsignal-client/dist/zkgroup/index.js';

/**
 * Signal's profile limits (Signal-Server's `CreateProfileRequest`): the client pads the name to
 * 53 or 257 bytes before encrypting (+28 bytes of nonce and tag), the about text to at most 512
 * and the emoji to 32; avatars are at most 10 MiB.
 */
export const PROFILE_LIMITS = {
  /** Allowed sizes of the encrypted name, in bytes. */
  nameSizes: [81, 285],
  /** Largest encrypted about text, in bytes. */
  aboutMaxBytes: 540,
  /** Largest encrypted about emoji, in bytes. */
  aboutEmojiMaxBytes: 60,
  /** Largest encrypted payment address, in bytes. */
  paymentAddressMaxBytes: 582,
  /** Longest profile version (hex of a 32-byte ProfileKeyVersion). */
  versionMaxLength: 64,
  /** Largest avatar upload, in bytes. */
  avatarMaxBytes: 10 * 1024 * 1024,
} as const;

/** What `setProfile` does with the avatar of the version being written. */
export type ProfileAvatarChange = 'KEEP' | 'CLEAR' | 'UPLOAD';

/** The `setProfile` input as the resolver receives it (Base64 already decoded). */
export interface SetProfileInput {
  readonly version: string;
  readonly commitment: Uint8Array;
  readonly name: Uint8Array;
  readonly about?: Uint8Array | null;
  readonly aboutEmoji?: Uint8Array | null;
  readonly paymentAddress?: Uint8Array | null;
  readonly avatar: ProfileAvatarChange;
  readonly avatarUploadLength?: number | null;
}

/** A checked profile write: sizes within limits, version normalised, commitment well formed. */
export interface ValidProfileWrite {
  /** The version in lower case. */
  readonly version: string;
  readonly commitment: Uint8Array<ArrayBuffer>;
  readonly name: Uint8Array<ArrayBuffer>;
  /** Empty ciphertexts are stored as null. */
  readonly about: Uint8Array<ArrayBuffer> | null;
  readonly aboutEmoji: Uint8Array<ArrayBuffer> | null;
  readonly paymentAddress: Uint8Array<ArrayBuffer> | null;
  readonly avatar: ProfileAvatarChange;
  /** Declared avatar size for `UPLOAD`, when the client gave one. */
  readonly avatarUploadLength: number | null;
}

const VERSION = /^[0-9a-f]+$/i;
const AVATAR_CHANGES: ReadonlySet<string> = new Set(['KEEP', 'CLEAR', 'UPLOAD']);

/**
 * Checks a profile version argument and returns it in lower case.
 *
 * @throws BadUserInputError naming `field` when it is empty, longer than 64 characters or not hex.
 */
export function normalizeProfileVersion(version: string, field: string): string {
  if (
    version.length === 0 ||
    version.length > PROFILE_LIMITS.versionMaxLength ||
    !VERSION.test(version)
  ) {
    throw new BadUserInputError(
      `${field} must be 1 to ${PROFILE_LIMITS.versionMaxLength} hexadecimal characters`,
      field,
    );
  }
  return version.toLowerCase();
}

function optionalCiphertext(
  value: Uint8Array | null | undefined,
  maxBytes: number,
  field: string,
): Uint8Array<ArrayBuffer> | null {
  if (value === null || value === undefined || value.length === 0) return null;
  if (value.length > maxBytes) {
    throw new BadUserInputError(`${field} must be at most ${maxBytes} bytes`, field);
  }
  return new Uint8Array(value);
}

/**
 * Checks a `setProfile` input against {@link PROFILE_LIMITS}: the name is exactly 81 or 285
 * bytes, about ≤ 540, emoji ≤ 60, payment address ≤ 582, the version is hex of at most 64
 * characters and the commitment deserializes as a zkgroup `ProfileKeyCommitment`. Pure: nothing
 * is read or written.
 *
 * @throws BadUserInputError naming the field (`input.name`, …) of the first problem.
 * @throws PayloadTooLargeError when `avatarUploadLength` exceeds 10 MiB.
 */
export function validateProfileInput(input: SetProfileInput): ValidProfileWrite {
  const version = normalizeProfileVersion(input.version, 'input.version');
  try {
    new ProfileKeyCommitment(new Uint8Array(input.commitment));
  } catch {
    throw new BadUserInputError(
      'input.commitment is not a serialized ProfileKeyCommitment',
      'input.commitment',
    );
  }
  if (!(PROFILE_LIMITS.nameSizes as readonly number[]).includes(input.name.length)) {
    throw new BadUserInputError(
      `input.name must be exactly ${PROFILE_LIMITS.nameSizes.join(' or ')} bytes (padded ciphertext)`,
      'input.name',
    );
  }
  const about = optionalCiphertext(input.about, PROFILE_LIMITS.aboutMaxBytes, 'input.about');
  const aboutEmoji = optionalCiphertext(
    input.aboutEmoji,
    PROFILE_LIMITS.aboutEmojiMaxBytes,
    'input.aboutEmoji',
  );
  const paymentAddress = optionalCiphertext(
    input.paymentAddress,
    PROFILE_LIMITS.paymentAddressMaxBytes,
    'input.paymentAddress',
  );
  if (!AVATAR_CHANGES.has(input.avatar)) {
    throw new BadUserInputError('input.avatar must be KEEP, CLEAR or UPLOAD', 'input.avatar');
  }
  const length = input.avatarUploadLength ?? null;
  if (length !== null) {
    if (input.avatar !== 'UPLOAD') {
      throw new BadUserInputError(
        'input.avatarUploadLength is only allowed with avatar: UPLOAD',
        'input.avatarUploadLength',
      );
    }
    if (!Number.isSafeInteger(length) || length < 1) {
      throw new BadUserInputError(
        'input.avatarUploadLength must be a positive whole number of bytes',
        'input.avatarUploadLength',
      );
    }
    if (length > PROFILE_LIMITS.avatarMaxBytes) {
      throw new PayloadTooLargeError(
        PROFILE_LIMITS.avatarMaxBytes,
        `input.avatarUploadLength exceeds the avatar limit of ${PROFILE_LIMITS.avatarMaxBytes} bytes`,
      );
    }
  }
  return {
    version,
    commitment: new Uint8Array(input.commitment),
    name: new Uint8Array(input.name),
    about,
    aboutEmoji,
    paymentAddress,
    avatar: input.avatar,
    avatarUploadLength: length,
  };
}
