import { randomUUID } from 'node:crypto';
import type { TokenService } from '@courier/auth';
import { BadUserInputError } from '@courier/errors';
import type { Logger } from '@courier/logging';
import type { DeviceCredentials } from '@courier/server';
import type { IdentityKeysInput, KeysClient, SignedPreKeyInput } from '../clients/keys-client.ts';
import type { AccountRepository, Transaction } from '../repositories/account-repository.ts';
import { checkPasswordShape, hashPassword } from './device-password.ts';

/** Registration ids are 14 bits and never 0. */
export const MAX_REGISTRATION_ID = 0x3fff;
/** Largest encrypted device name, in bytes. */
export const MAX_DEVICE_NAME_BYTES = 256;
/** Capabilities a device may declare, at most, and their longest name. */
export const MAX_CAPABILITIES = 32;
export const MAX_CAPABILITY_LENGTH = 64;
/** Unidentified access keys are 16 bytes. */
export const UNIDENTIFIED_ACCESS_KEY_BYTES = 16;

/** `registerAccount`'s input. */
export interface RegisterAccountInput {
  readonly sessionId: string;
  readonly password: string;
  readonly registrationId: number;
  readonly pniRegistrationId: number;
  readonly encryptedDeviceName?: Uint8Array | null;
  readonly capabilities?: readonly string[] | null;
  readonly unidentifiedAccessKey?: Uint8Array | null;
  readonly unrestrictedUnidentifiedAccess?: boolean | null;
  readonly aciIdentityKey: Uint8Array;
  readonly pniIdentityKey: Uint8Array;
  readonly aciSignedPreKey: SignedPreKeyInput;
  readonly pniSignedPreKey: SignedPreKeyInput;
  readonly aciPqLastResortPreKey: SignedPreKeyInput;
  readonly pniPqLastResortPreKey: SignedPreKeyInput;
}

/** What a successful registration returns. */
export interface Registration {
  readonly aci: string;
  readonly pni: string;
  readonly number: string;
  readonly deviceId: 1;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  /** True when the number already had an account, which this registration replaced. */
  readonly reregistered: boolean;
}

/** Marks a verified session used inside the caller's transaction; returns its number. */
export type ConsumeVerifiedSession = (
  sessionId: string,
  tx: Transaction,
) => Promise<{ number: string }>;

function checkRegistrationId(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_REGISTRATION_ID) {
    throw new BadUserInputError(`${field} must be between 1 and ${MAX_REGISTRATION_ID}`, field);
  }
}

/** Validates the parts of the input accounts owns (keys validates the keys). */
export function checkRegistrationInput(input: RegisterAccountInput): void {
  checkPasswordShape(input.password);
  checkRegistrationId(input.registrationId, 'registrationId');
  checkRegistrationId(input.pniRegistrationId, 'pniRegistrationId');
  if ((input.encryptedDeviceName?.length ?? 0) > MAX_DEVICE_NAME_BYTES) {
    throw new BadUserInputError(
      `encryptedDeviceName must be at most ${MAX_DEVICE_NAME_BYTES} bytes`,
      'encryptedDeviceName',
    );
  }
  const capabilities = input.capabilities ?? [];
  if (
    capabilities.length > MAX_CAPABILITIES ||
    capabilities.some((c) => c.length === 0 || c.length > MAX_CAPABILITY_LENGTH)
  ) {
    throw new BadUserInputError(
      `capabilities: at most ${MAX_CAPABILITIES} names of 1 to ${MAX_CAPABILITY_LENGTH} characters`,
      'capabilities',
    );
  }
  const uak = input.unidentifiedAccessKey;
  if (uak && uak.length !== UNIDENTIFIED_ACCESS_KEY_BYTES) {
    throw new BadUserInputError(
      `unidentifiedAccessKey must be ${UNIDENTIFIED_ACCESS_KEY_BYTES} bytes`,
      'unidentifiedAccessKey',
    );
  }
}

/**
 * Registration: a verified session becomes an account with its primary device and keys.
 *
 * Accounts and keys each own their tables, so the atomic step is built from two: inside one
 * accounts transaction (which also consumes the session and holds a per-number lock) accounts
 * asks keys to verify and store the device's keys, then writes the account and device; the
 * transaction commits only after keys answered. So an account never exists without its keys.
 * If the keys call fails nothing was written anywhere; if accounts' commit fails after keys
 * stored a new account's keys, they are deleted again (and keys of an ACI that never existed
 * are unreachable: bundles are only served for registered devices).
 *
 * Re-registering a number that has an account keeps its ACI and PNI (contacts keep the
 * conversation, and see a new safety number) and replaces everything else: all devices are
 * removed, so their passwords stop working at once, and every key of the old devices goes.
 */
export class RegistrationService {
  readonly #accounts: AccountRepository;
  readonly #keys: KeysClient;
  readonly #tokens: TokenService;
  readonly #consumeSession: ConsumeVerifiedSession;
  readonly #credentials: DeviceCredentials;
  readonly #logger: Logger;

  constructor(deps: {
    accounts: AccountRepository;
    keys: KeysClient;
    tokens: TokenService;
    consumeSession: ConsumeVerifiedSession;
    credentials: DeviceCredentials;
    logger: Logger;
  }) {
    this.#credentials = deps.credentials;
    this.#accounts = deps.accounts;
    this.#keys = deps.keys;
    this.#tokens = deps.tokens;
    this.#consumeSession = deps.consumeSession;
    this.#logger = deps.logger;
  }

  async register(input: RegisterAccountInput): Promise<Registration> {
    checkRegistrationInput(input);
    const password = hashPassword(input.password);
    const credentialId = randomUUID();
    const keys: { ACI: IdentityKeysInput; PNI: IdentityKeysInput } = {
      ACI: {
        identityKey: input.aciIdentityKey,
        signedPreKey: input.aciSignedPreKey,
        pqLastResortPreKey: input.aciPqLastResortPreKey,
      },
      PNI: {
        identityKey: input.pniIdentityKey,
        signedPreKey: input.pniSignedPreKey,
        pqLastResortPreKey: input.pniPqLastResortPreKey,
      },
    };
    let newAccountKeysStored: string | undefined;
    try {
      const saved = await this.#accounts.transaction(async (tx) => {
        const { number } = await this.#consumeSession(input.sessionId, tx);
        await this.#accounts.lockNumber(tx, number);
        const existing = await this.#accounts.findByNumber(tx, number);
        const aci = existing?.aci ?? randomUUID();
        const pni = existing?.pni ?? randomUUID();
        await this.#keys.storeInitialKeys(
          { aci, deviceId: 1, replaceAccount: existing !== null },
          keys,
        );
        if (!existing) newAccountKeysStored = aci;
        const replacedDevices = await this.#accounts.saveRegistration(tx, {
          aci,
          pni,
          number,
          unidentifiedAccessKey: input.unidentifiedAccessKey ?? null,
          unrestrictedUnidentifiedAccess: input.unrestrictedUnidentifiedAccess ?? false,
          primary: {
            credentialId,
            passwordHash: password.hash,
            passwordSalt: password.salt,
            registrationId: input.registrationId,
            pniRegistrationId: input.pniRegistrationId,
            encryptedName: input.encryptedDeviceName
              ? new Uint8Array(input.encryptedDeviceName)
              : null,
            capabilities: [...(input.capabilities ?? [])],
          },
        });
        return { aci, pni, number, reregistered: existing !== null, replacedDevices };
      });
      const { replacedDevices, ...registered } = saved;
      for (const deviceId of replacedDevices) await this.#credentials.revoke(saved.aci, deviceId);
      await this.#credentials.remember(saved.aci, 1, credentialId);
      const { token, expiresAt } = await this.#tokens.issue({
        aci: saved.aci,
        deviceId: 1,
        credentialId,
      });
      return { ...registered, deviceId: 1, accessToken: token, accessTokenExpiresAt: expiresAt };
    } catch (error) {
      if (newAccountKeysStored) {
        await this.#keys.deleteDeviceKeys(newAccountKeysStored, 1).catch((cleanupError) => {
          this.#logger.error(
            { err: cleanupError },
            'could not remove keys of a failed registration',
          );
        });
      }
      throw error;
    }
  }
}
