import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { BadUserInputError } from '@courier/errors';

/** Device passwords are random strings chosen by the client (Signal clients use 18+ random bytes). */
export const PASSWORD_LENGTH = { min: 16, max: 128 } as const;

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const INFO = Buffer.from('courier device password');

/** A salted password hash as stored on the device. */
export interface PasswordHash {
  readonly hash: Uint8Array<ArrayBuffer>;
  readonly salt: Uint8Array<ArrayBuffer>;
}

function derive(password: string, salt: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(password, 'utf8'), salt, INFO, HASH_BYTES));
}

/** Refuses passwords outside the accepted length. */
export function checkPasswordShape(password: string, field = 'password'): void {
  if (password.length < PASSWORD_LENGTH.min || password.length > PASSWORD_LENGTH.max) {
    throw new BadUserInputError(
      `${field} must be ${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max} characters`,
      field,
    );
  }
}

/**
 * Hashes a device password as Signal does: HKDF-SHA256 with a random 16-byte salt. A slow
 * password hash buys nothing here — the password is random and high-entropy, not chosen by a
 * person — and would make every login cost tens of milliseconds of CPU.
 */
export function hashPassword(password: string): PasswordHash {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  return { hash: derive(password, salt), salt };
}

/** Compares a presented password with a stored hash in constant time. */
export function passwordMatches(password: string, stored: PasswordHash): boolean {
  const candidate = derive(password, stored.salt);
  return candidate.length === stored.hash.length && timingSafeEqual(candidate, stored.hash);
}
