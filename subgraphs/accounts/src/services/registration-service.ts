import { randomUUID } from 'node:crypto';
import type { TokenService } from '@courier/auth';
import type { Logger } from '@courier/logging';
import type { DeviceCredentials } from '@courier/server';
import type { IdentityKeysInput, KeysClient, SignedPreKeyInput } from '../clients/keys-client.ts';
import type { AccountRepository, Transaction } from '../repositories/account-repository.ts';
import { checkDeviceAttributes, newDeviceFields } from './device-attributes.ts';

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

/** Validates the parts of the input accounts owns (keys validates the keys). */
export function checkRegistrationInput(input: RegisterAccountInput): void {
  checkDeviceAttributes(input);
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
    const device = newDeviceFields(input);
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
          primary: device,
        });
        return { aci, pni, number, reregistered: existing !== null, replacedDevices };
      });
      const { replacedDevices, ...registered } = saved;
      for (const deviceId of replacedDevices) await this.#credentials.revoke(saved.aci, deviceId);
      await this.#credentials.remember(saved.aci, 1, device.credentialId);
      const { token, expiresAt } = await this.#tokens.issue({
        aci: saved.aci,
        deviceId: 1,
        credentialId: device.credentialId,
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
