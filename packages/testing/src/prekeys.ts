import { randomBytes } from 'node:crypto';
import { KEMKeyPair, PrivateKey, type IdentityKeyPair } from '@signalapp/libsignal-client';
import { expectData, signedPreKeyVariables, type TestAccount } from './accounts.ts';
import { postGraphQL, type GraphQLResponse } from './graphql-client.ts';
import type { Platform } from './platform.ts';
import type { SignedPublicPreKey } from './signal-client.ts';
import { TestSignalStores, type TestKyberPreKey, type TestOneTimePreKey } from './signal-stores.ts';

/** The `setPreKeys` mutation. */
export const SET_PRE_KEYS = `mutation ($identity: IdentityType!, $input: SetPreKeysInput!) {
  setPreKeys(identity: $identity, input: $input) }`;

/** Keys for `setPreKeys`, as a test client holds them. */
export interface PreKeyUploadKeys {
  readonly ecPreKeys?: readonly { keyId: number; publicKey: Uint8Array }[];
  readonly kyberPreKeys?: readonly SignedPublicPreKey[];
  readonly signedPreKey?: SignedPublicPreKey;
  readonly pqLastResortPreKey?: SignedPublicPreKey;
}

/** `SetPreKeysInput` variables for some keys (bytes as base64). */
export function setPreKeysVariables(keys: PreKeyUploadKeys) {
  return {
    ...(keys.ecPreKeys
      ? {
          ecPreKeys: keys.ecPreKeys.map((key) => ({
            keyId: key.keyId,
            publicKey: Buffer.from(key.publicKey).toString('base64'),
          })),
        }
      : {}),
    ...(keys.kyberPreKeys ? { kyberPreKeys: keys.kyberPreKeys.map(signedPreKeyVariables) } : {}),
    ...(keys.signedPreKey ? { signedPreKey: signedPreKeyVariables(keys.signedPreKey) } : {}),
    ...(keys.pqLastResortPreKey
      ? { pqLastResortPreKey: signedPreKeyVariables(keys.pqLastResortPreKey) }
      : {}),
  };
}

/** Calls `setPreKeys` through `url` (the gateway unless told otherwise). */
export async function uploadPreKeys(
  url: string,
  token: string,
  identity: 'ACI' | 'PNI',
  keys: PreKeyUploadKeys,
): Promise<GraphQLResponse<{ setPreKeys: boolean }>> {
  const { body } = await postGraphQL<{ setPreKeys: boolean }>(url, SET_PRE_KEYS, {
    token,
    variables: { identity, input: setPreKeysVariables(keys) },
  });
  return body;
}

/** Uploads one-time keys and keeps their private parts in `stores`. */
export async function uploadOneTimeKeys(
  url: string,
  token: string,
  identity: 'ACI' | 'PNI',
  stores: TestSignalStores,
  ec: readonly TestOneTimePreKey[],
  kyber: readonly TestKyberPreKey[],
): Promise<void> {
  const body = await uploadPreKeys(url, token, identity, { ecPreKeys: ec, kyberPreKeys: kyber });
  expectData({ body }, 'setPreKeys');
  stores.addOneTimeKeys(ec, kyber);
}

/** A device linked to a test account, with its token and its ACI identity's libsignal stores. */
export interface TestLinkedDevice {
  readonly deviceId: number;
  readonly token: string;
  readonly registrationId: number;
  readonly pniRegistrationId: number;
  /** The device's ACI stores: the account's identity key, the device's own prekeys. */
  readonly aciStores: TestSignalStores;
}

function signedKeysOf(identity: IdentityKeyPair, keyId: number) {
  const ecPrivate = PrivateKey.generate();
  const ecPublic = ecPrivate.getPublicKey().serialize();
  const kyber = KEMKeyPair.generate();
  const kyberPublic = kyber.getPublicKey().serialize();
  return {
    signedPreKey: {
      keyId,
      publicKey: ecPublic,
      signature: identity.privateKey.sign(ecPublic),
      privateKey: ecPrivate,
    },
    lastResort: {
      keyId,
      publicKey: kyberPublic,
      signature: identity.privateKey.sign(kyberPublic),
      keyPair: kyber,
    },
  };
}

/**
 * Links a new device to `account` through the gateway (link code, `linkDevice`, `login`; the
 * provisioning hop is skipped: the test already holds the primary's identity keys) and returns
 * it with libsignal stores holding its private keys.
 */
export async function linkTestDevice(
  platform: Platform,
  account: TestAccount,
): Promise<TestLinkedDevice> {
  const code = expectData<{ createLinkDeviceCode: { code: string } }>(
    await postGraphQL(platform.gatewayUrl, 'mutation { createLinkDeviceCode { code } }', {
      token: account.token,
    }),
    'createLinkDeviceCode',
  ).createLinkDeviceCode.code;
  const aci = signedKeysOf(account.aciIdentity.identityKeyPair, 11);
  const pni = signedKeysOf(account.pniIdentity.identityKeyPair, 12);
  const password = randomBytes(18).toString('base64url');
  const registrationId = 1 + Math.floor(Math.random() * 0x3ffe);
  const pniRegistrationId = 1 + Math.floor(Math.random() * 0x3ffe);
  const linked = expectData<{ linkDevice: { deviceId: number } }>(
    await postGraphQL(
      platform.gatewayUrl,
      'mutation ($input: LinkDeviceInput!) { linkDevice(input: $input) { deviceId } }',
      {
        variables: {
          input: {
            code,
            password,
            registrationId,
            pniRegistrationId,
            aciSignedPreKey: signedPreKeyVariables(aci.signedPreKey),
            pniSignedPreKey: signedPreKeyVariables(pni.signedPreKey),
            aciPqLastResortPreKey: signedPreKeyVariables(aci.lastResort),
            pniPqLastResortPreKey: signedPreKeyVariables(pni.lastResort),
          },
        },
      },
    ),
    'linkDevice',
  ).linkDevice;
  const token = expectData<{ login: { accessToken: string } }>(
    await postGraphQL(
      platform.gatewayUrl,
      'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
      { variables: { input: { aci: account.aci, deviceId: linked.deviceId, password } } },
    ),
    'login',
  ).login.accessToken;
  const aciStores = new TestSignalStores(account.aciIdentity.identityKeyPair, registrationId);
  aciStores.addSignedPreKey(aci.signedPreKey);
  aciStores.addKyberPreKey(aci.lastResort);
  return { deviceId: linked.deviceId, token, registrationId, pniRegistrationId, aciStores };
}
