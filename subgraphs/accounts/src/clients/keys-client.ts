import { InternalApiClient } from '@courier/server';

/** A signed prekey as GraphQL inputs carry it. */
export interface SignedPreKeyInput {
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** One identity's keys at registration. */
export interface IdentityKeysInput {
  readonly identityKey: Uint8Array;
  readonly signedPreKey: SignedPreKeyInput;
  readonly pqLastResortPreKey: SignedPreKeyInput;
}

/** One identity's keys of a linked device (the identity key is the account's, already stored). */
export type LinkedIdentityKeysInput = Omit<IdentityKeysInput, 'identityKey'>;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const signed = (key: SignedPreKeyInput) => ({
  keyId: key.keyId,
  publicKey: b64(key.publicKey),
  signature: b64(key.signature),
});
const identity = (keys: IdentityKeysInput) => ({
  identityKey: b64(keys.identityKey),
  signedPreKey: signed(keys.signedPreKey),
  pqLastResortPreKey: signed(keys.pqLastResortPreKey),
});

/**
 * The keys subgraph's internal API as accounts uses it. Keys owns key material and its rules
 * (parsing, signature checks); accounts never writes keys' tables.
 */
export class KeysClient {
  readonly #api: InternalApiClient;

  constructor(keysUrl: string, routerSecret: string) {
    this.#api = new InternalApiClient(keysUrl, routerSecret);
  }

  /** Verifies and stores a device's initial keys; coded errors (BAD_USER_INPUT) pass through. */
  async storeInitialKeys(
    device: { aci: string; deviceId: number; replaceAccount: boolean },
    keys: { ACI: IdentityKeysInput; PNI: IdentityKeysInput },
  ): Promise<void> {
    await this.#api.request('POST', '/device-keys', {
      ...device,
      identities: { ACI: identity(keys.ACI), PNI: identity(keys.PNI) },
    });
  }

  /**
   * Verifies a linked device's signed prekeys against the account's stored identity keys and
   * stores them; keys signed by another identity are refused (`BAD_USER_INPUT`) and nothing is
   * stored.
   */
  async storeLinkedDeviceKeys(
    device: { aci: string; deviceId: number },
    keys: { ACI: LinkedIdentityKeysInput; PNI: LinkedIdentityKeysInput },
  ): Promise<void> {
    const linked = (set: LinkedIdentityKeysInput) => ({
      signedPreKey: signed(set.signedPreKey),
      pqLastResortPreKey: signed(set.pqLastResortPreKey),
    });
    await this.#api.request('POST', '/linked-device-keys', {
      ...device,
      identities: { ACI: linked(keys.ACI), PNI: linked(keys.PNI) },
    });
  }

  /** Deletes every key of an account (account deletion). */
  async deleteAccountKeys(aci: string): Promise<void> {
    await this.#api.request('DELETE', `/account-keys/${aci}`);
  }

  async deleteDeviceKeys(aci: string, deviceId: number): Promise<void> {
    await this.#api.request('DELETE', `/device-keys/${aci}/${deviceId}`);
  }
}
