import {
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';
import { BadUserInputError } from '@courier/errors';

/** Random bytes in a session id (256 bits: unguessable, a bearer secret). */
export const SESSION_ID_BYTES = 32;

/** A session id as clients hold it: {@link SESSION_ID_BYTES} bytes in unpadded base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Digits in a verification code. */
export const CODE_DIGITS = 6;

const CODE = /^[0-9]{6}$/;

/** A new session id: {@link SESSION_ID_BYTES} bytes from the CSPRNG, base64url without padding. */
export function newSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
}

/**
 * The SHA-256 of a session id, the only form in which it is stored or used as a rate-limit key.
 *
 * @throws BadUserInputError (`BAD_USER_INPUT`, field `sessionId`) when `sessionId` is not a
 * well-formed session id.
 */
export function hashSessionId(sessionId: string): Buffer {
  if (!SESSION_ID.test(sessionId)) {
    throw new BadUserInputError('Malformed verification session id', 'sessionId');
  }
  return createHash('sha256').update(sessionId, 'utf8').digest();
}

/** A new verification code: {@link CODE_DIGITS} decimal digits, uniform, from the CSPRNG. */
export function newVerificationCode(): string {
  return randomInt(0, 10 ** CODE_DIGITS)
    .toString()
    .padStart(CODE_DIGITS, '0');
}

/**
 * Checks the shape of a submitted code (exactly six ASCII digits).
 *
 * @throws BadUserInputError (`BAD_USER_INPUT`, field `code`) otherwise.
 */
export function assertCodeFormat(code: string): void {
  if (!CODE.test(code)) {
    throw new BadUserInputError(`A verification code is ${CODE_DIGITS} digits`, 'code');
  }
}

/**
 * Keyed hashing of verification codes, so that the database never holds a code (a six-digit code
 * under a plain hash would be reversed by trying all 10⁶). The key is derived with HKDF-SHA256
 * from a server secret; the MAC covers the session's id hash too, so a stored hash is worthless
 * for any other session.
 */
export class VerificationCodeHasher {
  readonly #key: Buffer;

  /** @param secret a server secret of at least 32 characters (never stored with the codes). */
  constructor(secret: string) {
    if (secret.length < 32)
      throw new Error('Verification code secret must be at least 32 characters');
    this.#key = Buffer.from(
      hkdfSync('sha256', secret, Buffer.alloc(0), 'courier verification code v1', 32),
    );
  }

  /** HMAC-SHA256(key, sessionIdHash ‖ code). */
  hash(sessionIdHash: Uint8Array, code: string): Buffer {
    return createHmac('sha256', this.#key).update(sessionIdHash).update(code, 'utf8').digest();
  }

  /** Whether `code` is the one `stored` was made from, compared in constant time. */
  matches(sessionIdHash: Uint8Array, code: string, stored: Uint8Array): boolean {
    const candidate = this.hash(sessionIdHash, code);
    return stored.length === candidate.length && timingSafeEqual(candidate, stored);
  }
}
