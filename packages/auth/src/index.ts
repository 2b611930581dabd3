import { createSecretKey, type KeyObject } from 'node:crypto';
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
  /** HMAC secret, at least 32 characters. */
  readonly secret: string;
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
 * Issues and verifies short-lived access tokens (HS256 JWTs). Every subgraph holds the same
 * secret and verifies tokens locally, so no request pays a round trip to accounts; revocation
 * (device removal, password change) is layered on top by the accounts service.
 */
export class TokenService {
  /** A Node KeyObject made once: handing jose raw bytes makes it import a key on every call. */
  readonly #key: KeyObject;
  readonly #ttlSeconds: number;
  readonly #now: () => number;

  constructor(options: TokenServiceOptions) {
    if (options.secret.length < 32) throw new Error('Token secret must be at least 32 characters');
    this.#key = createSecretKey(Buffer.from(options.secret, 'utf8'));
    this.#ttlSeconds = options.ttlSeconds ?? 3600;
    this.#now = options.now ?? Date.now;
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
      .setProtectedHeader({ alg: ALGORITHM })
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
      const { payload } = await jwtVerify(token, this.#key, {
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

  /** Verifies the value of an `Authorization` header (`Bearer <token>`); absent means anonymous. */
  async verifyAuthorization(header: string | undefined | null): Promise<RequestAuth> {
    if (!header) return { kind: 'anonymous' };
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!match?.[1]) return { kind: 'rejected', reason: 'malformed' };
    return this.verify(match[1]);
  }
}
