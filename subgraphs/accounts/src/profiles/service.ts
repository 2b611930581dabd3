import { createHmac } from 'node:crypto';
import type { AuthenticatedDevice, RequestAuth } from '@courier/auth';
import {
  BadUserInputError,
  ConflictError,
  NotFoundError,
  UnauthenticatedError,
} from '@courier/errors';
import type { RateLimits } from '@courier/limits';
import { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import {
  ProfileKeyCommitment,
  ProfileKeyCredentialRequest,
  ServerZkProfileOperations,
  type ServerSecretParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import type { AvatarUploadForm, AvatarUploadForms } from './avatar-upload.ts';
import type { AvatarWrite, ProfileOwner, ProfileRecord, ProfileStore } from './repository.ts';
import {
  normalizeProfileVersion,
  validateProfileInput,
  type SetProfileInput,
} from './validation.ts';
import { isUuid, unidentifiedAccessKeyMatches } from '@courier/server';

/**
 * Whether `ownerAci` has blocked `callerAci`. The blocking feature provides it; a blocked caller
 * gets the same answer as for an unknown account.
 */
export type IsBlocked = (ownerAci: string, callerAci: string) => Promise<boolean>;

/** How an anonymous caller proves access to a profile (sealed-sender style). */
export interface ProfileAccess {
  /** The target's 16-byte unidentified access key, derived from its profile key. */
  readonly unidentifiedAccessKey: Uint8Array;
}

/** Arguments of `Query.profile`. */
export interface ProfileQuery {
  readonly serviceId: string;
  readonly version?: string | null;
  readonly credentialRequest?: Uint8Array | null;
  readonly access?: ProfileAccess | null;
}

/** A profile as `Query.profile` answers it. */
export interface ProfileView {
  readonly aci: string;
  /** The requested version when it is stored, else null (and the ciphertexts are null). */
  readonly version: string | null;
  readonly name: Uint8Array | null;
  readonly about: Uint8Array | null;
  readonly aboutEmoji: Uint8Array | null;
  readonly paymentAddress: Uint8Array | null;
  readonly avatar: string | null;
  /** HMAC-SHA256(unidentified access key, 32 zero bytes), or null without a key. */
  readonly unidentifiedAccess: Uint8Array | null;
  readonly unrestrictedUnidentifiedAccess: boolean;
  readonly capabilities: readonly string[];
  /** Serialized `ExpiringProfileKeyCredentialResponse`, when a credential was requested. */
  readonly credential: Uint8Array | null;
  /** When the issued credential expires (day-aligned), ms since the epoch. */
  readonly credentialExpiresAt: number | null;
}

/** What `setProfile` answers. */
export interface SetProfileResult {
  readonly version: string;
  readonly avatar: string | null;
  readonly avatarUploadForm: AvatarUploadForm | null;
}

/** Dependencies of {@link ProfileService}. */
export interface ProfileServiceOptions {
  readonly store: ProfileStore;
  readonly zkSecretParams: ServerSecretParams;
  readonly limits: Pick<RateLimits, 'consume'>;
  readonly avatarForms: AvatarUploadForms;
  /** @default never blocked (until the blocking feature wires its check) */
  readonly isBlocked?: IsBlocked;
  /** @default Date.now */
  readonly now?: () => number;
}

const DAY_MS = 86_400_000;
/** Lifetime of an expiring profile key credential (Signal: 7 days). */
export const PROFILE_KEY_CREDENTIAL_DAYS = 7;

/**
 * Expiry of a profile key credential issued at `nowMs`: the start of the UTC day 7 days later,
 * in seconds. Clients reject credentials whose expiry is not day-aligned.
 */
export function profileKeyCredentialExpiration(nowMs: number): number {
  return (Math.floor(nowMs / DAY_MS) + PROFILE_KEY_CREDENTIAL_DAYS) * (DAY_MS / 1000);
}

/** Signal's unidentified access checksum: HMAC-SHA256 keyed by the access key over 32 zero bytes. */
export function unidentifiedAccessChecksum(accessKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', accessKey).update(new Uint8Array(32)).digest());
}

/** Capabilities every device of the account declared (Signal: a capability counts when all have it). */
function commonCapabilities(devices: ReadonlyArray<readonly string[]>): string[] {
  const [first, ...rest] = devices;
  if (!first) return [];
  return [...new Set(first)].filter((capability) =>
    rest.every((device) => device.includes(capability)),
  );
}

/**
 * Versioned profiles (Signal's `ProfileController`): ciphertext name, about, emoji, payment
 * address and avatar per profile key version, and expiring profile key credentials issued with
 * zkgroup.
 *
 * Access to `profile` (decision): an access token of any account (the `profile` bucket limits
 * each caller), or, with no token, the target's unidentified access key (constant-time compare)
 * or any key when the target allows unrestricted unidentified access. A token and an access key
 * together are refused (`BAD_USER_INPUT`), as Signal does. Refusals do not reveal whether the
 * account exists: with a token, an unknown account and an account that blocked the caller both
 * answer `NOT_FOUND` (Signal answers 404 to identified callers too); without a token, an unknown
 * account, a missing or wrong key all answer `UNAUTHENTICATED` (Signal's 401).
 */
export class ProfileService {
  readonly #store: ProfileStore;
  readonly #zk: ServerZkProfileOperations;
  readonly #publicParams: Uint8Array;
  readonly #limits: Pick<RateLimits, 'consume'>;
  readonly #avatarForms: AvatarUploadForms;
  readonly #isBlocked: IsBlocked;
  readonly #now: () => number;

  constructor(options: ProfileServiceOptions) {
    this.#store = options.store;
    this.#zk = new ServerZkProfileOperations(options.zkSecretParams);
    this.#publicParams = options.zkSecretParams.getPublicParams().serialize();
    this.#limits = options.limits;
    this.#avatarForms = options.avatarForms;
    this.#isBlocked = options.isBlocked ?? (() => Promise.resolve(false));
    this.#now = options.now ?? Date.now;
  }

  /** The serialized zkgroup `ServerPublicParams` matching this server's secret params. */
  serverPublicParams(): Uint8Array {
    return new Uint8Array(this.#publicParams);
  }

  /**
   * Stores a profile version for the caller's account (any of its devices). `KEEP` keeps the
   * avatar already stored for this version (none for a new version: avatars are encrypted with
   * the profile key, so a new version needs a new upload), `CLEAR` removes it, `UPLOAD` stores a
   * new key and returns its upload form.
   *
   * @throws BadUserInputError / PayloadTooLargeError for bad input (nothing stored).
   * @throws ConflictError when the version exists with a different commitment.
   * @throws NotFoundError when the caller's account no longer exists.
   */
  async setProfile(device: AuthenticatedDevice, input: SetProfileInput): Promise<SetProfileResult> {
    const write = validateProfileInput(input);
    const form =
      write.avatar === 'UPLOAD' ? await this.#avatarForms.create(write.avatarUploadLength) : null;
    const avatar: AvatarWrite =
      write.avatar === 'KEEP' ? { kind: 'keep' } : { kind: 'set', key: form ? form.key : null };
    const result = await this.#store.saveVersion(device.aci, write, avatar);
    if (result.kind === 'commitment-mismatch') {
      throw new ConflictError(
        'This profile version already exists with a different commitment (input.commitment)',
      );
    }
    if (result.kind === 'no-account') throw new NotFoundError('Account not found');
    return { version: write.version, avatar: result.avatar, avatarUploadForm: form };
  }

  /**
   * A profile as the caller may see it; see the class comment for access. With `version`, the
   * ciphertexts of that version (null when it is not stored); with `credentialRequest` (needs a
   * stored `version`), an expiring profile key credential valid until the start of the UTC day
   * seven days ahead.
   */
  async getProfile(auth: RequestAuth, query: ProfileQuery): Promise<ProfileView> {
    const aci = parseAci(query.serviceId);
    const version =
      query.version === null || query.version === undefined
        ? null
        : normalizeProfileVersion(query.version, 'version');
    const request =
      query.credentialRequest === null || query.credentialRequest === undefined
        ? null
        : parseCredentialRequest(query.credentialRequest);
    if (request && version === null) {
      throw new BadUserInputError('credentialRequest needs a version', 'version');
    }
    const owner = await this.#authorize(auth, aci, query.access ?? null);
    const profile = version === null ? null : await this.#store.findVersion(aci, version);
    let credential: Uint8Array | null = null;
    let credentialExpiresAt: number | null = null;
    if (request) {
      if (!profile) throw new NotFoundError('No profile with this version');
      const expiration = profileKeyCredentialExpiration(this.#now());
      credential = this.#issue(request, aci, profile, expiration);
      credentialExpiresAt = expiration * 1000;
    }
    return {
      aci,
      version: profile?.version ?? null,
      name: profile?.name ?? null,
      about: profile?.about ?? null,
      aboutEmoji: profile?.aboutEmoji ?? null,
      paymentAddress: profile?.paymentAddress ?? null,
      avatar: profile?.avatar ?? null,
      unidentifiedAccess: owner.unidentifiedAccessKey
        ? unidentifiedAccessChecksum(owner.unidentifiedAccessKey)
        : null,
      unrestrictedUnidentifiedAccess: owner.unrestrictedUnidentifiedAccess,
      capabilities: commonCapabilities(owner.deviceCapabilities),
      credential,
      credentialExpiresAt,
    };
  }

  async #authorize(
    auth: RequestAuth,
    aci: string,
    access: ProfileAccess | null,
  ): Promise<ProfileOwner> {
    if (auth.kind === 'rejected') throw new UnauthenticatedError();
    if (auth.kind === 'device') {
      if (access) {
        throw new BadUserInputError('Send either an access token or access, not both', 'access');
      }
      const caller = auth.device.aci;
      await this.#limits.consume('profile', caller);
      const owner = await this.#store.findOwner(aci);
      if (!owner || (caller !== aci && (await this.#isBlocked(aci, caller)))) {
        throw new NotFoundError('Profile not found');
      }
      return owner;
    }
    if (!access) throw new UnauthenticatedError('Profile unavailable');
    const owner = await this.#store.findOwner(aci);
    const keyMatches = unidentifiedAccessKeyMatches(
      owner?.unidentifiedAccessKey ?? null,
      access.unidentifiedAccessKey,
    );
    if (!owner || !(owner.unrestrictedUnidentifiedAccess || keyMatches)) {
      throw new UnauthenticatedError('Profile unavailable');
    }
    return owner;
  }

  #issue(
    request: ProfileKeyCredentialRequest,
    aci: string,
    profile: ProfileRecord,
    expirationSeconds: number,
  ): Uint8Array {
    try {
      return this.#zk
        .issueExpiringProfileKeyCredential(
          request,
          Aci.fromUuid(aci),
          new ProfileKeyCommitment(new Uint8Array(profile.commitment)),
          expirationSeconds,
        )
        .serialize();
    } catch {
      throw new BadUserInputError(
        'credentialRequest does not match this profile version',
        'credentialRequest',
      );
    }
  }
}

function parseAci(serviceId: string): string {
  if (!isUuid(serviceId.toLowerCase())) {
    throw new BadUserInputError(
      'serviceId must be an ACI (a UUID); profiles are not served for PNI service ids',
      'serviceId',
    );
  }
  return serviceId.toLowerCase();
}

function parseCredentialRequest(bytes: Uint8Array): ProfileKeyCredentialRequest {
  try {
    return new ProfileKeyCredentialRequest(new Uint8Array(bytes));
  } catch {
    throw new BadUserInputError(
      'credentialRequest is not a serialized ProfileKeyCredentialRequest',
      'credentialRequest',
    );
  }
}
