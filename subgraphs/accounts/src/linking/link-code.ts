import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { BadUserInputError } from '@courier/errors';

/** How long a link-device code is accepted (Signal: 10 minutes). */
export const LINK_CODE_TTL_MS = 10 * 60_000;

/** How far in the future a code's issue time may lie (clock skew between instances). */
const MAX_CLOCK_SKEW_MS = 60_000;

const VERSION = 1;
const UUID_BYTES = 16;
const NONCE_BYTES = 16;
const MAC_BYTES = 32;
/** version (1) ‖ ACI (16) ‖ issued at, ms (8) ‖ primary device created at, ms (8) ‖ nonce (16). */
const PAYLOAD_BYTES = 1 + UUID_BYTES + 8 + 8 + NONCE_BYTES;
const CODE_BYTES = PAYLOAD_BYTES + MAC_BYTES;
/** Length of a code in unpadded base64url. */
const CODE_LENGTH = Math.ceil((CODE_BYTES * 4) / 3);
const CODE = new RegExp(`^[A-Za-z0-9_-]{${CODE_LENGTH}}$`);

/** HKDF `info` of the link-code MAC key: a key of its own, whatever secret it comes from. */
export const LINK_CODE_KEY_INFO = 'courier link device code v1';

/** What a valid link-device code says. */
export interface LinkCodeClaims {
  /** The account the code lets a new device join. */
  readonly aci: string;
  /** When the code was made (ms since the epoch). */
  readonly issuedAt: number;
  /** When it stops being accepted (ms since the epoch). */
  readonly expiresAt: number;
  /**
   * Creation time of the account's primary device when the code was made (ms). Re-registration
   * replaces the primary, so a code made before it no longer matches and is refused.
   */
  readonly primaryCreatedAt: number;
  /** SHA-256 of the code: the only form in which a used code is stored. */
  readonly hash: Uint8Array<ArrayBuffer>;
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function uuidString(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function refused(): BadUserInputError {
  return new BadUserInputError('Invalid or expired link code', 'code');
}

/**
 * Makes and checks link-device codes: self-contained, HMAC-SHA256-signed tokens (no database
 * row until one is used). A code is `base64url(payload ‖ HMAC(key, payload))` where the payload
 * holds a version, the account's ACI, the issue time, the primary device's creation time and a
 * random nonce (so two codes made in the same millisecond differ). The MAC key is derived with
 * HKDF-SHA256 (info {@link LINK_CODE_KEY_INFO}) from a server secret shared by every accounts
 * instance. Single use is enforced by the caller, which records {@link LinkCodeClaims.hash}.
 */
export class LinkCodeSigner {
  readonly #key: Buffer;
  readonly #now: () => number;

  /**
   * @param secret a server secret of at least 32 characters, the same on every instance.
   * @param now clock, ms since the epoch.
   */
  constructor(secret: string, now: () => number = Date.now) {
    if (secret.length < 32) throw new Error('Link code secret must be at least 32 characters');
    this.#key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), LINK_CODE_KEY_INFO, 32));
    this.#now = now;
  }

  /** A new code for the account; valid for {@link LINK_CODE_TTL_MS}. */
  issue(aci: string, primaryCreatedAt: Date): { code: string; expiresAt: number } {
    const issuedAt = this.#now();
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    let offset = payload.writeUInt8(VERSION, 0);
    offset += uuidBytes(aci).copy(payload, offset);
    offset = payload.writeBigUInt64BE(BigInt(issuedAt), offset);
    offset = payload.writeBigUInt64BE(BigInt(primaryCreatedAt.getTime()), offset);
    randomBytes(NONCE_BYTES).copy(payload, offset);
    const code = Buffer.concat([payload, this.#mac(payload)]).toString('base64url');
    return { code, expiresAt: issuedAt + LINK_CODE_TTL_MS };
  }

  /**
   * Checks a code's form, MAC (in constant time) and age; returns what it says.
   *
   * @throws BadUserInputError (`BAD_USER_INPUT`, field `code`) when it is malformed, forged or
   * expired — one answer for all, so a caller learns nothing about which.
   */
  verify(code: string): LinkCodeClaims {
    if (!CODE.test(code)) throw refused();
    const bytes = Buffer.from(code, 'base64url');
    if (bytes.length !== CODE_BYTES) throw refused();
    const payload = bytes.subarray(0, PAYLOAD_BYTES);
    const mac = bytes.subarray(PAYLOAD_BYTES);
    if (!timingSafeEqual(mac, this.#mac(payload)) || payload.readUInt8(0) !== VERSION) {
      throw refused();
    }
    const aci = uuidString(payload.subarray(1, 1 + UUID_BYTES));
    const issuedAt = Number(payload.readBigUInt64BE(1 + UUID_BYTES));
    const primaryCreatedAt = Number(payload.readBigUInt64BE(1 + UUID_BYTES + 8));
    const expiresAt = issuedAt + LINK_CODE_TTL_MS;
    const now = this.#now();
    if (now >= expiresAt || issuedAt > now + MAX_CLOCK_SKEW_MS) throw refused();
    return {
      aci,
      issuedAt,
      expiresAt,
      primaryCreatedAt,
      hash: new Uint8Array(createHash('sha256').update(code, 'utf8').digest()),
    };
  }

  #mac(payload: Uint8Array): Buffer {
    return createHmac('sha256', this.#key).update(payload).digest();
  }
}
