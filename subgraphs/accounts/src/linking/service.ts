import type { AuthenticatedDevice } from '@courier/auth';
import {
  BadUserInputError,
  ConflictError,
  CourierError,
  ErrorCode,
  ForbiddenError,
  NotFoundError,
} from '@courier/errors';
import type { RateLimits } from '@courier/limits';
import type { Logger } from '@courier/logging';
import type { DeviceCredentials } from '@courier/server';
import type { KeysClient, SignedPreKeyInput } from '../clients/keys-client.ts';
import type { AccountRepository } from '../repositories/account-repository.ts';
import { checkDeviceAttributes, newDeviceFields } from '../services/device-attributes.ts';
import type { LinkCodeSigner } from './link-code.ts';
import type { UsedLinkCodeRepository } from './repository.ts';

/** Most devices an account may have, primary included (Signal: 6). */
export const MAX_DEVICES = 6;

/** Highest device id (Signal: device ids are 1..127). */
export const MAX_DEVICE_ID = 127;

/** `linkDevice`'s input. */
export interface LinkDeviceInput {
  readonly code: string;
  readonly password: string;
  readonly registrationId: number;
  readonly pniRegistrationId: number;
  readonly encryptedDeviceName?: Uint8Array | null;
  readonly capabilities?: readonly string[] | null;
  readonly aciSignedPreKey: SignedPreKeyInput;
  readonly pniSignedPreKey: SignedPreKeyInput;
  readonly aciPqLastResortPreKey: SignedPreKeyInput;
  readonly pniPqLastResortPreKey: SignedPreKeyInput;
}

/** A device that was linked: it logs in with these and its password. */
export interface LinkedDevice {
  readonly aci: string;
  readonly pni: string;
  readonly deviceId: number;
}

/** A new link-device code. */
export interface LinkDeviceCode {
  readonly code: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

/** Validates the parts of `linkDevice`'s input accounts owns (keys validates the keys). */
export function checkLinkDeviceInput(input: LinkDeviceInput): void {
  checkDeviceAttributes(input);
}

/** The lowest device id from 2 up that no device of the account has; undefined when all are taken. */
export function nextFreeDeviceId(taken: Iterable<number>): number | undefined {
  const used = new Set(taken);
  for (let id = 2; id <= MAX_DEVICE_ID; id++) if (!used.has(id)) return id;
  return undefined;
}

function invalidCode(): BadUserInputError {
  return new BadUserInputError('Invalid or expired link code', 'code');
}

/**
 * Device linking: the primary makes a link code, the new device presents it with its password,
 * attributes and keys.
 *
 * `link` is one atomic step across accounts and keys, built like registration: inside one
 * accounts transaction that holds the account's row lock (so concurrent links of one account
 * are serialised and the device count and id allocation cannot race), the code is recorded as
 * used (a replay finds the row and is refused), the device row is written, and keys is asked to
 * verify the device's signed prekeys against the account's stored identity keys and store them;
 * the transaction commits only after keys answered. If keys refuses, nothing was stored there
 * and the transaction rolls back (the code stays usable). If the keys call fails otherwise (a
 * timeout: keys may have stored them), the keys are deleted before the lock is released. If
 * the commit fails after keys stored them, they are deleted after it; a link of the same
 * account that got the lock in between would reuse the device id, and could lose its keys to
 * that cleanup — a window of one failed commit, which the new device repairs by relinking.
 */
export class LinkingService {
  readonly #accounts: AccountRepository;
  readonly #codes: UsedLinkCodeRepository;
  readonly #keys: KeysClient;
  readonly #signer: LinkCodeSigner;
  readonly #limits: RateLimits;
  readonly #credentials: DeviceCredentials;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(deps: {
    accounts: AccountRepository;
    codes: UsedLinkCodeRepository;
    keys: KeysClient;
    signer: LinkCodeSigner;
    limits: RateLimits;
    credentials: DeviceCredentials;
    logger: Logger;
    now?: () => number;
  }) {
    this.#accounts = deps.accounts;
    this.#codes = deps.codes;
    this.#keys = deps.keys;
    this.#signer = deps.signer;
    this.#limits = deps.limits;
    this.#credentials = deps.credentials;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * A new single-use link code for the caller's account, valid 10 minutes. Only the primary
   * device may make one (`FORBIDDEN` otherwise); spends from the account's `allocateDevice`
   * bucket (6 per 2 minutes).
   */
  async createCode(device: AuthenticatedDevice): Promise<LinkDeviceCode> {
    if (device.deviceId !== 1) {
      throw new ForbiddenError('Only the primary device can link new devices');
    }
    await this.#limits.consume('allocateDevice', device.aci);
    const primary = await this.#accounts.findDevice(device.aci, 1);
    if (!primary) throw new NotFoundError('Account not found');
    return this.#signer.issue(device.aci, primary.createdAt);
  }

  /**
   * Links a new device with a link code. Refusals: a malformed, forged, expired, replayed or
   * outdated (the account was re-registered since) code is `BAD_USER_INPUT` on `code`; an
   * account that already has {@link MAX_DEVICES} devices is `CONFLICT`; a bad key is
   * `BAD_USER_INPUT` naming it (keys signed by any identity but the account's are refused).
   * Spends from the account's `verifyDevice` bucket once the code is known to be genuine.
   */
  async link(input: LinkDeviceInput): Promise<LinkedDevice> {
    checkLinkDeviceInput(input);
    const claims = this.#signer.verify(input.code);
    await this.#limits.consume('verifyDevice', claims.aci);
    const device = newDeviceFields(input);
    let stored: { aci: string; deviceId: number } | undefined;
    try {
      const linked = await this.#accounts.transaction(async (tx) => {
        const locked = await this.#accounts.lockAccountDevices(tx, claims.aci);
        const primary = locked?.devices.find((d) => d.deviceId === 1);
        if (!locked || primary?.createdAt.getTime() !== claims.primaryCreatedAt) {
          throw invalidCode();
        }
        if (locked.devices.length >= MAX_DEVICES) {
          throw new ConflictError(`An account can have at most ${MAX_DEVICES} devices`);
        }
        const deviceId = nextFreeDeviceId(locked.devices.map((d) => d.deviceId));
        if (deviceId === undefined) throw new ConflictError('No free device id');
        const fresh = await this.#codes.markUsed(tx, {
          hash: claims.hash,
          aci: claims.aci,
          deviceId,
          expiresAt: claims.expiresAt,
        });
        if (!fresh) throw new BadUserInputError('This link code was already used', 'code');
        await this.#accounts.createLinkedDevice(tx, { aci: claims.aci, deviceId, ...device });
        try {
          await this.#keys.storeLinkedDeviceKeys(
            { aci: claims.aci, deviceId },
            {
              ACI: {
                signedPreKey: input.aciSignedPreKey,
                pqLastResortPreKey: input.aciPqLastResortPreKey,
              },
              PNI: {
                signedPreKey: input.pniSignedPreKey,
                pqLastResortPreKey: input.pniPqLastResortPreKey,
              },
            },
          );
        } catch (error) {
          // A coded refusal means keys wrote nothing; anything else (timeout, keys down) may
          // have stored them. Clean up while the account lock still keeps this id unallocated.
          if (!isRefusal(error)) await this.#removeKeys(claims.aci, deviceId);
          throw error;
        }
        stored = { aci: claims.aci, deviceId };
        return { aci: claims.aci, pni: locked.account.pni, deviceId };
      });
      stored = undefined; // committed: from here on the keys belong to the new device
      // Only a cache (misses fall back to the database): a failure here must not undo the link.
      await this.#credentials
        .remember(linked.aci, linked.deviceId, device.credentialId)
        .catch((error: unknown) => {
          this.#logger.warn({ err: error }, 'could not cache a linked device credential');
        });
      return linked;
    } catch (error) {
      // Keys were stored but the transaction did not commit (the commit itself failed).
      if (stored) await this.#removeKeys(stored.aci, stored.deviceId);
      throw error;
    }
  }

  /** Deletes the records of used codes that have expired (run by the maintenance timer). */
  purgeExpiredCodes(): Promise<number> {
    return this.#codes.purgeExpired(new Date(this.#now()));
  }

  async #removeKeys(aci: string, deviceId: number): Promise<void> {
    await this.#keys.deleteDeviceKeys(aci, deviceId).catch((cleanupError: unknown) => {
      this.#logger.error({ err: cleanupError }, 'could not remove keys of a failed link');
    });
  }
}

/** An expected refusal by another subgraph (it changed nothing), as opposed to a failure. */
function isRefusal(error: unknown): boolean {
  return error instanceof CourierError && error.code !== ErrorCode.INTERNAL;
}
