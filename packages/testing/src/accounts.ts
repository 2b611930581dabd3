import { randomBytes } from 'node:crypto';
import { postGraphQL, type GraphQLResponse } from './graphql-client.ts';
import type { Platform } from './platform.ts';
import {
  generateTestIdentity,
  type SignedPublicPreKey,
  type TestIdentity,
} from './signal-client.ts';

/** An account registered end to end through the gateway, with its primary device's secrets. */
export interface TestAccount {
  readonly aci: string;
  readonly pni: string;
  readonly number: string;
  readonly deviceId: 1;
  /** Access token of the primary device. */
  readonly token: string;
  /** The primary device's password (for `login`). */
  readonly password: string;
  /** Real libsignal key material of the ACI and PNI identities. */
  readonly aciIdentity: TestIdentity;
  readonly pniIdentity: TestIdentity;
  readonly unidentifiedAccessKey: Uint8Array<ArrayBuffer>;
}

/** Throws with the GraphQL errors when a response has any. */
export function expectData<T>(response: { body: GraphQLResponse<T> }, what: string): T {
  if (response.body.errors?.length || !response.body.data) {
    throw new Error(`${what} failed: ${JSON.stringify(response.body.errors)}`);
  }
  return response.body.data;
}

/** GraphQL variables for a signed prekey. */
export function signedPreKeyVariables(key: SignedPublicPreKey) {
  return {
    keyId: key.keyId,
    publicKey: Buffer.from(key.publicKey).toString('base64'),
    signature: Buffer.from(key.signature).toString('base64'),
  };
}

/** The `registerAccount` input's key fields for two identities. */
export function registrationKeyVariables(aci: TestIdentity, pni: TestIdentity) {
  return {
    aciIdentityKey: Buffer.from(aci.identityKey).toString('base64'),
    pniIdentityKey: Buffer.from(pni.identityKey).toString('base64'),
    aciSignedPreKey: signedPreKeyVariables(aci.signedPreKey),
    pniSignedPreKey: signedPreKeyVariables(pni.signedPreKey),
    aciPqLastResortPreKey: signedPreKeyVariables(aci.lastResortKyberPreKey),
    pniPqLastResortPreKey: signedPreKeyVariables(pni.lastResortKyberPreKey),
  };
}

/**
 * Proves a number through a verification session (reading the code from the `log` sender's
 * outbox, as a person would read the SMS) and returns the verified session id.
 */
export async function verifyNumber(platform: Platform, number: string): Promise<string> {
  const created = expectData<{ createVerificationSession: { id: string } }>(
    await postGraphQL(
      platform.gatewayUrl,
      'mutation($n: String!) { createVerificationSession(number: $n) { id } }',
      {
        variables: { n: number },
      },
    ),
    'createVerificationSession',
  );
  const sessionId = created.createVerificationSession.id;
  expectData(
    await postGraphQL(
      platform.gatewayUrl,
      'mutation($s: ID!) { requestVerificationCode(sessionId: $s, transport: SMS) { id } }',
      { variables: { s: sessionId } },
    ),
    'requestVerificationCode',
  );
  const code = platform.accounts.verificationOutbox?.latest(number)?.code;
  if (!code) throw new Error('no verification code in the outbox');
  const submitted = expectData<{ submitVerificationCode: { verified: boolean } }>(
    await postGraphQL(
      platform.gatewayUrl,
      'mutation($s: ID!, $c: String!) { submitVerificationCode(sessionId: $s, code: $c) { verified } }',
      { variables: { s: sessionId, c: code } },
    ),
    'submitVerificationCode',
  );
  if (!submitted.submitVerificationCode.verified) throw new Error('session not verified');
  return sessionId;
}

/** The `registerAccount` mutation with every field of its result. */
export const REGISTER_ACCOUNT = `mutation($input: RegisterAccountInput!) {
  registerAccount(input: $input) {
    aci pni number deviceId accessToken accessTokenExpiresAt reregistered
  }
}`;

/**
 * Registers an account end to end through the gateway: verification session, code from the
 * outbox, `registerAccount` with freshly generated real libsignal keys for both identities.
 */
export async function registerTestAccount(
  platform: Platform,
  number: string,
): Promise<TestAccount> {
  const sessionId = await verifyNumber(platform, number);
  const aciIdentity = generateTestIdentity();
  const pniIdentity = generateTestIdentity();
  const password = randomBytes(18).toString('base64url');
  const unidentifiedAccessKey = new Uint8Array(randomBytes(16));
  const data = expectData<{
    registerAccount: { aci: string; pni: string; number: string; accessToken: string };
  }>(
    await postGraphQL(platform.gatewayUrl, REGISTER_ACCOUNT, {
      variables: {
        input: {
          sessionId,
          password,
          registrationId: aciIdentity.registrationId,
          pniRegistrationId: pniIdentity.registrationId,
          unidentifiedAccessKey: Buffer.from(unidentifiedAccessKey).toString('base64'),
          ...registrationKeyVariables(aciIdentity, pniIdentity),
        },
      },
    }),
    'registerAccount',
  );
  const registered = data.registerAccount;
  return {
    aci: registered.aci,
    pni: registered.pni,
    number: registered.number,
    deviceId: 1,
    token: registered.accessToken,
    password,
    aciIdentity,
    pniIdentity,
    unidentifiedAccessKey,
  };
}
