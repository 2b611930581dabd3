import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

/** The device a request acts as, established from a verified access token. */
export interface AuthenticatedDevice {
  /** The account's ACI (UUID). */
  readonly aci: string;
  /** The device id, 1 = primary. */
  readonly deviceId: number;
  /** The device credentials the token was issued for; revoked when they change. */
  readonly credentialId: string;
  /** Token expiry, ms since epoch. */
  readonly expiresAt: number;
}

/** Why a presented token was not accepted. */
export type TokenRejection = 'malformed' | 'expired' | 'invalid' | 'revoked';

/** Result of checking the credentials a request presented. */
export type RequestAuth =
  | { readonly kind: 'device'; readonly device: AuthenticatedDevice }
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'rejected'; readonly reason: TokenRejection };

export interface TokenServiceOptions {
  /** HMAC secret that signs new tokens (the current key), at least 32 characters. */
  readonly secret: string;
  /**
   * Earlier signing keys, verify only (key rotation): tokens they signed keep verifying until
   * they expire. Remove a key once the tokens it signed have expired to retire it.
   * @default []
   */
  readonly previousSecrets?: readonly string[];
  /**
   * Access-token lifetime in seconds.
   * @default 3600
   */
  readonly ttlSeconds?: number;
  /** Clock for tests. @default Date.now */
  readonly now?: () => number;
}

const ISSUER = 'courier';
const AUDIENCE = 'courier';
const ALGORITHM = 'HS256';

/**
 * The key id (`kid` header) of a signing secret: the first 9 bytes of HMAC-SHA256(secret,
 * "courier access-token key id"), base64url. Derived rather than configured, so a key and its id
 * can never be paired wrongly, and the id reveals nothing usable about the secret.
 */
export function tokenKeyId(secret: string): string {
  return createHmac('sha256', secret)
    .update('courier access-token key id')
    .digest()
    .subarray(0, 9)
    .toString('base64url');
}

/**
 * Issues and verifies short-lived access tokens (HS256 JWTs). Every subgraph holds the same
 * secret and verifies tokens locally, so no request pays a round trip to accounts; revocation
 * (device removal, password change) is layered on top by the accounts service.
 *
 * Rotation without downtime: tokens carry the signing key's id (`kid`); new tokens are signed
 * with the current key, and tokens signed with a previous key still verify while that key is
 * configured. A token without `kid` (issued before key ids existed) is checked with the current key.
 */
export class TokenService {
  /** A Node KeyObject made once: handing jose raw bytes makes it import a key on every call. */
  readonly #key: KeyObject;
  /** Id of {@link #key}, in the header of every issued token. */
  readonly #keyId: string;
  /** Every verifying key (current and previous) by key id. */
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #ttlSeconds: number;
  readonly #now: () => number;

  constructor(options: TokenServiceOptions) {
    const secrets = [options.secret, ...(options.previousSecrets ?? [])];
    if (secrets.some((secret) => secret.length < 32)) {
      throw new Error('Token secret must be at least 32 characters');
    }
    this.#key = createSecretKey(Buffer.from(options.secret, 'utf8'));
    this.#keyId = tokenKeyId(options.secret);
    const keys = new Map<string, KeyObject>();
    for (const secret of secrets) {
      const id = tokenKeyId(secret);
      if (!keys.has(id)) keys.set(id, createSecretKey(Buffer.from(secret, 'utf8')));
    }
    this.#keys = keys;
    this.#ttlSeconds = options.ttlSeconds ?? 3600;
    this.#now = options.now ?? Date.now;
  }

  /** The key id new tokens carry (see {@link tokenKeyId}). */
  get currentKeyId(): string {
    return this.#keyId;
  }

  /** Issues a token for a device; returns it with its expiry (ms since epoch). */
  async issue(device: {
    aci: string;
    deviceId: number;
    credentialId: string;
  }): Promise<{ token: string; expiresAt: number }> {
    const issuedAt = Math.floor(this.#now() / 1000);
    const expiresAtSeconds = issuedAt + this.#ttlSeconds;
    const token = await new SignJWT({ dev: device.deviceId, cid: device.credentialId })
      .setProtectedHeader({ alg: ALGORITHM, kid: this.#keyId })
      .setSubject(device.aci)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAtSeconds)
      .sign(this.#key);
    return { token, expiresAt: expiresAtSeconds * 1000 };
  }

  /** Verifies a token; never throws. */
  async verify(token: string): Promise<RequestAuth> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.#verifyingKey(header.kid), {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [ALGORITHM],
        currentDate: new Date(this.#now()),
      });
      const deviceId = payload['dev'];
      const credentialId = payload['cid'];
      if (
        typeof payload.sub !== 'string' ||
        typeof deviceId !== 'number' ||
        typeof credentialId !== 'string' ||
        !payload.exp
      ) {
        return { kind: 'rejected', reason: 'invalid' };
      }
      return {
        kind: 'device',
        device: { aci: payload.sub, deviceId, credentialId, expiresAt: payload.exp * 1000 },
      };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { kind: 'rejected', reason: 'expired' };
      if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) {
        return { kind: 'rejected', reason: 'malformed' };
      }
      return { kind: 'rejected', reason: 'invalid' };
    }
  }

  #verifyingKey(keyId: string | undefined): KeyObject {
    if (keyId === undefined) return this.#key;
    const key = this.#keys.get(keyId);
    if (!key) throw new joseErrors.JWKSNoMatchingKey();
    return key;
  }

  /** Verifies the value of an `Authorization` header (`Bearer <token>`); absent means anonymous. */
  async verifyAuthorization(header: string | undefined | null): Promise<RequestAuth> {
    if (!header) return { kind: 'anonymous' };
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!match?.[1]) return { kind: 'rejected', reason: 'malformed' };
    return this.verify(match[1]);
  }
}
