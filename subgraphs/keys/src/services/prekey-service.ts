import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthenticatedDevice, RequestAuth } from '@courier/auth';
import type { IdentityType } from '@courier/db';
import { BadUserInputError, NotFoundError, UnauthenticatedError } from '@courier/errors';
import type { RateLimits } from '@courier/limits';
import {
  parseServiceId,
  unidentifiedAccessKeyMatches,
  type ServiceId,
  verifyGroupSendToken,
} from '@courier/server';
import type { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import type { AccountsClient, KeyTarget } from '../clients/accounts-client.ts';
import type { DeviceKeysRepository } from '../repositories/device-keys-repository.ts';
import type { PreKeyRepository } from '../repositories/prekey-repository.ts';
import {
  parseIdentityKey,
  verifyEcPreKey,
  verifySignedEcPreKey,
  verifySignedKyberPreKey,
  type PreKeyBytes,
  type SignedPreKeyBytes,
} from './key-validation.ts';

/** Most one-time keys of one kind per upload (Signal's limit). */
export const MAX_ONE_TIME_KEYS = 100;

/** `setPreKeys`'s input as GraphQL delivers it. */
export interface SetPreKeysInput {
  readonly ecPreKeys?: readonly PreKeyBytes[] | null;
  readonly kyberPreKeys?: readonly SignedPreKeyBytes[] | null;
  readonly signedPreKey?: SignedPreKeyBytes | null;
  readonly pqLastResortPreKey?: SignedPreKeyBytes | null;
}

/** Unidentified access to a bundle: exactly one of the two. */
export interface KeyAccess {
  readonly unidentifiedAccessKey?: Uint8Array | null;
  /** A group send full token endorsing exactly the target's service id. */
  readonly groupSendToken?: Uint8Array | null;
}

/** Arguments of `Query.preKeyBundle`. */
export interface PreKeyBundleQuery {
  readonly serviceId: string;
  readonly deviceId?: number | null;
  readonly access?: KeyAccess | null;
}

/** One device's part of a bundle. */
export interface PreKeyBundleDevice {
  readonly deviceId: number;
  readonly registrationId: number;
  readonly signedPreKey: SignedPreKeyBytes;
  readonly preKey: PreKeyBytes | null;
  readonly kyberPreKey: SignedPreKeyBytes;
}

/** What `Query.preKeyBundle` answers. */
export interface PreKeyBundle {
  readonly identityKey: Uint8Array;
  readonly devices: readonly PreKeyBundleDevice[];
}

function checkDistinctIds(keys: readonly { keyId: number }[], field: string): void {
  const seen = new Set<number>();
  for (const key of keys) {
    if (seen.has(key.keyId)) {
      throw new BadUserInputError(`${field} has key id ${key.keyId} more than once`, field);
    }
    seen.add(key.keyId);
  }
}

function checkCount(keys: readonly unknown[], field: string): void {
  if (keys.length > MAX_ONE_TIME_KEYS) {
    throw new BadUserInputError(`${field} may hold at most ${MAX_ONE_TIME_KEYS} keys`, field);
  }
}

/**
 * Signal's key-check digest: SHA-256 over the identity key ‖ signed EC prekey id (8 bytes,
 * big-endian) ‖ its public key ‖ last-resort Kyber key id (8 bytes, big-endian) ‖ its public key.
 */
export function repeatedUseKeyDigest(
  identityKey: Uint8Array,
  signedPreKey: { keyId: number; publicKey: Uint8Array },
  lastResortKyberPreKey: { keyId: number; publicKey: Uint8Array },
): Uint8Array {
  const id = (keyId: number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(BigInt(keyId));
    return buffer;
  };
  return new Uint8Array(
    createHash('sha256')
      .update(identityKey)
      .update(id(signedPreKey.keyId))
      .update(signedPreKey.publicKey)
      .update(id(lastResortKyberPreKey.keyId))
      .update(lastResortKyberPreKey.publicKey)
      .digest(),
  );
}

/** Dependencies of {@link PreKeyService}. */
export interface PreKeyServiceOptions {
  readonly preKeys: PreKeyRepository;
  readonly deviceKeys: DeviceKeysRepository;
  readonly accounts: Pick<AccountsClient, 'findTarget' | 'isBlocked'>;
  readonly limits: Pick<RateLimits, 'consume'>;
  /** zkgroup params group send tokens are verified with; unset, tokens are refused. */
  readonly zkSecretParams?: ServerSecretParams;
  /** Clock of token expiry checks, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/**
 * The prekey server (Signal's `KeysController`): uploads of one-time and signed prekeys,
 * counts, bundles for PQXDH session setup with one-time keys handed out at most once, and the
 * repeated-use key check.
 *
 * Bundle access (decision, as profiles): an access token (rate limited per caller device →
 * target device with the `prekeys` bucket; an account that blocked the caller answers
 * `NOT_FOUND` like an unknown one), or with no token the target's unidentified access key
 * (constant-time compare; any key when the target allows unrestricted access), where an unknown
 * account and a wrong or missing key all answer `UNAUTHENTICATED`; or a group send full token
 * endorsing exactly the target service id (as Signal's keys endpoint accepts): an expired or
 * malformed token is `UNAUTHENTICATED`, one endorsing someone else `FORBIDDEN`, and an unknown
 * account after a valid token `NOT_FOUND`.
 */
export class PreKeyService {
  readonly #preKeys: PreKeyRepository;
  readonly #deviceKeys: DeviceKeysRepository;
  readonly #accounts: PreKeyServiceOptions['accounts'];
  readonly #limits: PreKeyServiceOptions['limits'];
  readonly #zkSecretParams: ServerSecretParams | undefined;
  readonly #now: () => number;

  constructor(options: PreKeyServiceOptions) {
    this.#preKeys = options.preKeys;
    this.#deviceKeys = options.deviceKeys;
    this.#accounts = options.accounts;
    this.#limits = options.limits;
    this.#zkSecretParams = options.zkSecretParams;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Stores the calling device's prekeys for one identity after checking every key and signature
   * against the account's identity key; the first bad key refuses the whole call
   * (`BAD_USER_INPUT` naming the field) and nothing is stored.
   */
  async setPreKeys(
    device: AuthenticatedDevice,
    identity: IdentityType,
    input: SetPreKeysInput,
  ): Promise<void> {
    const ecPreKeys = input.ecPreKeys ?? [];
    const kyberPreKeys = input.kyberPreKeys ?? [];
    checkCount(ecPreKeys, 'ecPreKeys');
    checkCount(kyberPreKeys, 'kyberPreKeys');
    checkDistinctIds(ecPreKeys, 'ecPreKeys');
    checkDistinctIds(kyberPreKeys, 'kyberPreKeys');
    const stored = (await this.#deviceKeys.findIdentityKeys(device.aci))[identity];
    if (!stored) throw new NotFoundError('The account has no identity key');
    const identityKey = parseIdentityKey(stored, 'identityKey');
    ecPreKeys.forEach((key, i) => verifyEcPreKey(key, `ecPreKeys[${i}]`));
    kyberPreKeys.forEach((key, i) =>
      verifySignedKyberPreKey(identityKey, key, `kyberPreKeys[${i}]`),
    );
    if (input.signedPreKey) {
      verifySignedEcPreKey(identityKey, input.signedPreKey, 'signedPreKey');
    }
    if (input.pqLastResortPreKey) {
      verifySignedKyberPreKey(identityKey, input.pqLastResortPreKey, 'pqLastResortPreKey');
    }
    await this.#preKeys.store(
      { aci: device.aci, identity, deviceId: device.deviceId },
      {
        ecPreKeys,
        kyberPreKeys,
        signedPreKey: input.signedPreKey ?? null,
        pqLastResortPreKey: input.pqLastResortPreKey ?? null,
      },
    );
  }

  /** One-time EC and Kyber prekeys the calling device has left for an identity. */
  preKeyCounts(
    device: AuthenticatedDevice,
    identity: IdentityType,
  ): Promise<{ ecCount: number; kyberCount: number }> {
    return this.#preKeys.count({ aci: device.aci, identity, deviceId: device.deviceId });
  }

  /** Whether the client's digest of its repeated-use keys matches the stored keys. */
  async checkPreKeys(
    device: AuthenticatedDevice,
    identity: IdentityType,
    digest: Uint8Array,
  ): Promise<boolean> {
    if (digest.length !== 32) throw new BadUserInputError('digest must be 32 bytes', 'digest');
    const [identityKeys, repeated] = await Promise.all([
      this.#deviceKeys.findIdentityKeys(device.aci),
      this.#preKeys.repeatedUseKeys(device.aci, identity, [device.deviceId]),
    ]);
    const identityKey = identityKeys[identity];
    const keys = repeated.get(device.deviceId);
    if (!identityKey || !keys?.signedPreKey || !keys.lastResortKyberPreKey) return false;
    const expected = repeatedUseKeyDigest(
      identityKey,
      keys.signedPreKey,
      keys.lastResortKyberPreKey,
    );
    return timingSafeEqual(expected, digest);
  }

  /**
   * A prekey bundle for one device of `serviceId`, or every device (`deviceId` null); see the
   * class comment for access. Claims one one-time EC and one one-time Kyber prekey per device;
   * devices without a signed prekey are left out; no device left is `NOT_FOUND`.
   */
  async preKeyBundle(auth: RequestAuth, query: PreKeyBundleQuery): Promise<PreKeyBundle> {
    const service = parseServiceId(query.serviceId, 'serviceId');
    const deviceId = query.deviceId ?? null;
    if (deviceId !== null && (!Number.isInteger(deviceId) || deviceId < 1 || deviceId > 127)) {
      throw new BadUserInputError('deviceId must be between 1 and 127', 'deviceId');
    }
    const target = await this.#authorize(auth, service, deviceId, query.access ?? null);
    const devices =
      deviceId === null
        ? target.devices
        : target.devices.filter((device) => device.deviceId === deviceId);
    if (devices.length === 0) throw new NotFoundError('No such device');
    const owner = (device: { deviceId: number }) => ({
      aci: target.aci,
      identity: service.kind,
      deviceId: device.deviceId,
    });
    // Reads and claims in parallel: a device with one-time keys always has a signed and a
    // last-resort key (they are created with the device and deleted with it).
    const [identityKeys, repeated, claims] = await Promise.all([
      this.#deviceKeys.findIdentityKeys(target.aci),
      this.#preKeys.repeatedUseKeys(
        target.aci,
        service.kind,
        devices.map((device) => device.deviceId),
      ),
      Promise.all(devices.map((device) => this.#preKeys.claim(owner(device)))),
    ]);
    const identityKey = identityKeys[service.kind];
    if (!identityKey) throw new NotFoundError('No keys for this account');
    const bundleDevices = devices.flatMap((device, i): PreKeyBundleDevice[] => {
      const keys = repeated.get(device.deviceId);
      const claimed = claims[i]!;
      if (!keys?.signedPreKey || !keys.lastResortKyberPreKey) return [];
      return [
        {
          deviceId: device.deviceId,
          registrationId: service.kind === 'PNI' ? device.pniRegistrationId : device.registrationId,
          signedPreKey: keys.signedPreKey,
          preKey: claimed.ecPreKey,
          kyberPreKey: claimed.kyberPreKey ?? keys.lastResortKyberPreKey,
        },
      ];
    });
    if (bundleDevices.length === 0) throw new NotFoundError('No keys for this device');
    return { identityKey, devices: bundleDevices };
  }

  async #authorize(
    auth: RequestAuth,
    service: ServiceId,
    deviceId: number | null,
    access: KeyAccess | null,
  ): Promise<KeyTarget> {
    if (auth.kind === 'rejected') throw new UnauthenticatedError();
    if (auth.kind === 'device') {
      if (access) {
        throw new BadUserInputError('Send either an access token or access, not both', 'access');
      }
      const caller = auth.device;
      await this.#limits.consume(
        'prekeys',
        `${caller.aci}.${caller.deviceId}__${service.uuid}.${deviceId ?? '*'}`,
      );
      // For an ACI the block check need not wait for the account lookup.
      const blockedAci = (aci: string) =>
        aci === caller.aci ? Promise.resolve(false) : this.#accounts.isBlocked(aci, caller.aci);
      const early = service.kind === 'ACI' ? blockedAci(service.uuid) : undefined;
      early?.catch(() => undefined);
      const target = await this.#accounts.findTarget(service.text);
      if (!target || (await (early ?? blockedAci(target.aci)))) {
        throw new NotFoundError('No such account');
      }
      return target;
    }
    if (!access) throw new UnauthenticatedError('Prekeys unavailable');
    const { unidentifiedAccessKey, groupSendToken } = access;
    if ((unidentifiedAccessKey == null) === (groupSendToken == null)) {
      throw new BadUserInputError(
        'access needs exactly one of unidentifiedAccessKey and groupSendToken',
        'access',
      );
    }
    if (groupSendToken != null) {
      if (!this.#zkSecretParams) throw new UnauthenticatedError('Prekeys unavailable');
      verifyGroupSendToken(
        this.#zkSecretParams,
        groupSendToken,
        [service.text],
        new Date(this.#now()),
      );
      const target = await this.#accounts.findTarget(service.text);
      if (!target) throw new NotFoundError('No such account');
      return target;
    }
    const target = await this.#accounts.findTarget(service.text);
    const keyMatches = unidentifiedAccessKeyMatches(
      target?.unidentifiedAccessKey ?? null,
      unidentifiedAccessKey!,
    );
    if (!target || !(keyMatches || target.unrestrictedUnidentifiedAccess)) {
      throw new UnauthenticatedError('Prekeys unavailable');
    }
    return target;
  }
}
