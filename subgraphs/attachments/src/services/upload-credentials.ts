import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** What an upload credential allows: one upload under `key`, until `expiresAt`. */
export interface UploadGrant {
  /** The attachment key (base64url of {@link KEY_BYTES} random bytes). */
  readonly key: string;
  /**
   * With `exactLength`, the only accepted `Upload-Length`; otherwise the largest one (avatar
   * forms issued before the client knew the size).
   */
  readonly length: number;
  readonly exactLength: boolean;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

/** Why a credential was refused. */
export type CredentialRejection = 'missing' | 'malformed' | 'invalid' | 'expired';

/** Random bytes in an attachment key (Signal: 15). Base64url gives 20 URL-safe characters. */
export const KEY_BYTES = 15;
/** An attachment key as it appears in URLs. */
export const KEY_PATTERN = /^[A-Za-z0-9_-]{20}$/;

const VERSION = 1;
const PAYLOAD_BYTES = 1 + KEY_BYTES + 8 + 1 + 8;
const MAC_BYTES = 32;

/**
 * Derives the credential signing key from the router secret, for deployments that configure no
 * dedicated upload secret. Every attachments instance has the router secret, so credentials
 * verify on any instance; the derivation keeps the MAC key distinct from every other use.
 */
export function deriveUploadSecret(routerSecret: string): Uint8Array {
  return new Uint8Array(
    hkdfSync(
      'sha256',
      Buffer.from(routerSecret, 'utf8'),
      Buffer.alloc(0),
      'courier attachments upload credential v1',
      32,
    ),
  );
}

/**
 * Short-lived upload credentials: `base64url(payload).base64url(HMAC-SHA256(secret, payload))`,
 * the payload binding version, key, length (exact or maximum) and expiry. Stateless, so a form
 * costs no database write and any instance verifies it; a credential is single-use in effect
 * because an upload's key can only be created once. Verification compares MACs in constant
 * time before reading the payload.
 */
export class UploadCredentials {
  readonly #secret: Buffer;

  constructor(secret: Uint8Array) {
    if (secret.byteLength < 32) throw new RangeError('The upload secret needs at least 32 bytes');
    this.#secret = Buffer.from(secret);
  }

  /** Signs a grant. */
  sign(grant: UploadGrant): string {
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    let offset = payload.writeUInt8(VERSION, 0);
    const key = Buffer.from(grant.key, 'base64url');
    if (key.length !== KEY_BYTES || !KEY_PATTERN.test(grant.key)) {
      throw new RangeError('Malformed attachment key');
    }
    offset += key.copy(payload, offset);
    offset = payload.writeBigUInt64BE(BigInt(grant.length), offset);
    offset = payload.writeUInt8(grant.exactLength ? 1 : 0, offset);
    payload.writeBigUInt64BE(BigInt(grant.expiresAt), offset);
    return `${payload.toString('base64url')}.${this.#mac(payload).toString('base64url')}`;
  }

  /** The grant of a credential, or why it is refused. */
  verify(
    credential: string | undefined,
    now: number,
  ): { ok: true; grant: UploadGrant } | { ok: false; reason: CredentialRejection } {
    if (!credential) return { ok: false, reason: 'missing' };
    const [payloadText, macText, ...rest] = credential.split('.');
    if (!payloadText || !macText || rest.length > 0) return { ok: false, reason: 'malformed' };
    const payload = Buffer.from(payloadText, 'base64url');
    const mac = Buffer.from(macText, 'base64url');
    if (payload.length !== PAYLOAD_BYTES || mac.length !== MAC_BYTES) {
      return { ok: false, reason: 'malformed' };
    }
    if (!timingSafeEqual(mac, this.#mac(payload))) return { ok: false, reason: 'invalid' };
    if (payload.readUInt8(0) !== VERSION) return { ok: false, reason: 'invalid' };
    const grant: UploadGrant = {
      key: payload.subarray(1, 1 + KEY_BYTES).toString('base64url'),
      length: Number(payload.readBigUInt64BE(1 + KEY_BYTES)),
      exactLength: payload.readUInt8(1 + KEY_BYTES + 8) === 1,
      expiresAt: Number(payload.readBigUInt64BE(1 + KEY_BYTES + 9)),
    };
    if (grant.expiresAt <= now) return { ok: false, reason: 'expired' };
    return { ok: true, grant };
  }

  #mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.#secret).update(payload).digest();
  }
}

/** Reads the credential from an `Authorization: Bearer <credential>` header. */
export function credentialFromAuthorization(header: string | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header ?? '');
  return match?.[1];
}
