import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { signal } from '@courier/proto';
import {
  createWsClient,
  postGraphQL,
  registerTestAccount,
  signedPreKeyVariables,
  startPlatform,
  subscribe,
  type GraphQLResponse,
  type Platform,
  type SignedPublicPreKey,
  type TestAccount,
} from '@courier/testing';
import { IdentityKeyPair, KEMKeyPair, PrivateKey, PublicKey } from '@signalapp/libsignal-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// --- the clients' side of provisioning (Signal's ProvisioningCipher, with AES-256-GCM) ---

const PROVISIONING_INFO = 'Courier Provisioning Message v1';

function provisioningKey(shared: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), PROVISIONING_INFO, 32));
}

/** The primary: encrypts a `ProvisionMessage` to the new device's ephemeral public key. */
function encryptProvisionMessage(
  devicePublicKey: PublicKey,
  message: signal.IProvisionMessage,
): Uint8Array {
  const ephemeral = PrivateKey.generate();
  const ephemeralPublic = ephemeral.getPublicKey().serialize();
  const key = provisioningKey(ephemeral.agree(devicePublicKey));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(ephemeralPublic);
  const plaintext = signal.ProvisionMessage.encode(message).finish();
  const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return signal.ProvisionEnvelope.encode({ publicKey: ephemeralPublic, body }).finish();
}

/** The new device: decrypts what arrived at its provisioning address. */
function decryptProvisionEnvelope(
  deviceKey: PrivateKey,
  envelopeBytes: Uint8Array,
): signal.ProvisionMessage {
  const envelope = signal.ProvisionEnvelope.decode(envelopeBytes);
  const ephemeralPublic = new Uint8Array(envelope.publicKey);
  const key = provisioningKey(deviceKey.agree(PublicKey.deserialize(ephemeralPublic)));
  const body = Buffer.from(envelope.body);
  const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12));
  decipher.setAAD(ephemeralPublic);
  decipher.setAuthTag(body.subarray(body.length - 16));
  const plaintext = Buffer.concat([
    decipher.update(body.subarray(12, body.length - 16)),
    decipher.final(),
  ]);
  return signal.ProvisionMessage.decode(plaintext);
}

/** A signed EC prekey and a signed last-resort Kyber prekey made with an identity private key. */
function signedKeys(identityPrivate: PrivateKey, keyId: number) {
  const ec = PrivateKey.generate().getPublicKey().serialize();
  const kyber = KEMKeyPair.generate().getPublicKey().serialize();
  const sign = (publicKey: Uint8Array<ArrayBuffer>): SignedPublicPreKey => ({
    keyId,
    publicKey,
    signature: identityPrivate.sign(publicKey),
  });
  return { signedPreKey: sign(ec), lastResort: sign(kyber) };
}

/** `linkDevice` input with keys signed by the given ACI and PNI identity private keys. */
function linkInput(code: string, aciPrivate: PrivateKey, pniPrivate: PrivateKey) {
  const aci = signedKeys(aciPrivate, 7);
  const pni = signedKeys(pniPrivate, 8);
  return {
    code,
    password: randomBytes(18).toString('base64url'),
    registrationId: 1 + Math.floor(Math.random() * 0x3ffe),
    pniRegistrationId: 1 + Math.floor(Math.random() * 0x3ffe),
    encryptedDeviceName: randomBytes(40).toString('base64'),
    capabilities: ['deleteSync'],
    aciSignedPreKey: signedPreKeyVariables(aci.signedPreKey),
    pniSignedPreKey: signedPreKeyVariables(pni.signedPreKey),
    aciPqLastResortPreKey: signedPreKeyVariables(aci.lastResort),
    pniPqLastResortPreKey: signedPreKeyVariables(pni.lastResort),
  };
}

type ProvisioningEvent =
  | { __typename: 'ProvisioningAddress'; address: string }
  | { __typename: 'ProvisioningMessage'; body: string };

const PROVISIONING = `subscription { provisioning { __typename
  ... on ProvisioningAddress { address }
  ... on ProvisioningMessage { body } } }`;

const CREATE_CODE = 'mutation { createLinkDeviceCode { code expiresAt } }';
const SEND = `mutation ($address: String!, $body: Base64!) {
  sendProvisioningMessage(address: $address, body: $body) }`;
const LINK = `mutation ($input: LinkDeviceInput!) { linkDevice(input: $input) { aci pni deviceId } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { accessToken expiresAt } }`;

const codeOf = (body: GraphQLResponse) => body.errors?.[0]?.extensions?.['code'];

describe('device linking through the gateway', () => {
  let platform: Platform;

  const gql = async <T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ): Promise<GraphQLResponse<T>> =>
    (await postGraphQL<T>(platform.gatewayUrl, query, { variables, ...(token ? { token } : {}) }))
      .body;

  const createCode = async (account: { token: string }): Promise<string> => {
    const body = await gql<{ createLinkDeviceCode: { code: string; expiresAt: number } }>(
      CREATE_CODE,
      {},
      account.token,
    );
    expect(body.errors).toBeUndefined();
    return body.data!.createLinkDeviceCode.code;
  };

  const link = (input: ReturnType<typeof linkInput>) =>
    gql<{ linkDevice: { aci: string; pni: string; deviceId: number } }>(LINK, { input });

  /** Links a device straight from the primary's key material (the provisioning hop skipped). */
  const linkFrom = async (account: TestAccount) =>
    link(
      linkInput(
        await createCode(account),
        account.aciIdentity.identityKeyPair.privateKey,
        account.pniIdentity.identityKeyPair.privateKey,
      ),
    );

  const deviceIds = async (aci: string) =>
    (
      await platform.runtime.prisma.device.findMany({
        where: { aci },
        select: { deviceId: true },
        orderBy: { deviceId: 'asc' },
      })
    ).map((d) => d.deviceId);

  const storedKeyDevices = async (aci: string) => {
    const [ec, kyber] = await Promise.all([
      platform.runtime.prisma.signedEcPreKey.findMany({ where: { aci } }),
      platform.runtime.prisma.kyberPreKey.findMany({ where: { aci } }),
    ]);
    return {
      ec: ec.map((k) => `${k.identity}:${k.deviceId}`).sort(),
      kyber: kyber.map((k) => `${k.identity}:${k.deviceId}`).sort(),
    };
  };

  beforeAll(async () => {
    platform = await startPlatform({ accountsInstances: 2 });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('links a second device end to end: provisioning across instances, linkDevice, login', async () => {
    const alice = await registerTestAccount(platform, '+14155550301');

    // The new device: an ephemeral key pair, and a provisioning subscription without a token.
    const deviceKey = PrivateKey.generate();
    const client = createWsClient(platform.gatewayWsUrl);
    const events = subscribe<{ provisioning: ProvisioningEvent }>(client, PROVISIONING);
    try {
      const first = await events.next();
      expect(first.value?.errors).toBeUndefined();
      const addressEvent = first.value?.data?.provisioning;
      expect(addressEvent?.__typename).toBe('ProvisioningAddress');
      const address = (addressEvent as { address: string }).address;
      expect(address).toMatch(/^[A-Za-z0-9_-]{22}$/);

      // The primary (which scanned address + public key): a link code and the encrypted message.
      const codeBody = await gql<{ createLinkDeviceCode: { code: string; expiresAt: number } }>(
        CREATE_CODE,
        {},
        alice.token,
      );
      expect(codeBody.errors).toBeUndefined();
      const { code, expiresAt } = codeBody.data!.createLinkDeviceCode;
      expect(expiresAt).toBeGreaterThan(Date.now() + 9 * 60_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 10 * 60_000);
      const envelope = encryptProvisionMessage(deviceKey.getPublicKey(), {
        aciIdentityKeyPublic: alice.aciIdentity.identityKey,
        aciIdentityKeyPrivate: alice.aciIdentity.identityKeyPair.privateKey.serialize(),
        pniIdentityKeyPublic: alice.pniIdentity.identityKey,
        pniIdentityKeyPrivate: alice.pniIdentity.identityKeyPair.privateKey.serialize(),
        aci: alice.aci,
        pni: alice.pni,
        number: alice.number,
        provisioningCode: code,
        provisioningVersion: signal.ProvisioningVersion.CURRENT,
      });

      // Sent through the second accounts instance: the subscription is held by the first.
      const second = platform.accountsServers[1]!;
      expect(second.url).not.toBe(platform.accounts.url);
      const sent = await postGraphQL<{ sendProvisioningMessage: boolean }>(second.url, SEND, {
        variables: { address, body: Buffer.from(envelope).toString('base64') },
        token: alice.token,
        headers: { 'x-router-secret': platform.routerSecret },
      });
      expect(sent.body.errors).toBeUndefined();
      expect(sent.body.data?.sendProvisioningMessage).toBe(true);

      const second_ = await events.next();
      expect(second_.value?.errors).toBeUndefined();
      const messageEvent = second_.value?.data?.provisioning;
      expect(messageEvent?.__typename).toBe('ProvisioningMessage');
      const received = Buffer.from((messageEvent as { body: string }).body, 'base64');
      expect(received.equals(Buffer.from(envelope))).toBe(true);
      // One message per address: the subscription completes.
      expect((await events.next()).done).toBe(true);

      // The new device decrypts and becomes a device of the account with the shared identity.
      const provision = decryptProvisionEnvelope(deviceKey, received);
      expect(provision).toMatchObject({ aci: alice.aci, pni: alice.pni, number: alice.number });
      const aciPair = new IdentityKeyPair(
        PublicKey.deserialize(new Uint8Array(provision.aciIdentityKeyPublic)),
        PrivateKey.deserialize(new Uint8Array(provision.aciIdentityKeyPrivate)),
      );
      const pniPrivate = PrivateKey.deserialize(new Uint8Array(provision.pniIdentityKeyPrivate));
      expect(Buffer.from(aciPair.publicKey.serialize())).toEqual(
        Buffer.from(alice.aciIdentity.identityKey),
      );
      const input = linkInput(provision.provisioningCode, aciPair.privateKey, pniPrivate);
      const linked = await link(input);
      expect(linked.errors).toBeUndefined();
      expect(linked.data?.linkDevice).toEqual({ aci: alice.aci, pni: alice.pni, deviceId: 2 });

      const login = await gql<{ login: { accessToken: string } }>(LOGIN, {
        input: { aci: alice.aci, deviceId: 2, password: input.password },
      });
      expect(login.errors).toBeUndefined();
      const token = login.data!.login.accessToken;
      const devices = await gql<{
        devices: { id: number; registrationId: number; encryptedName: string | null }[];
      }>('{ devices { id registrationId encryptedName } }', {}, token);
      expect(devices.errors).toBeUndefined();
      expect(devices.data?.devices.map((d) => d.id)).toEqual([1, 2]);
      expect(devices.data?.devices[1]).toEqual({
        id: 2,
        registrationId: input.registrationId,
        encryptedName: input.encryptedDeviceName,
      });
      expect(await storedKeyDevices(alice.aci)).toEqual({
        ec: ['ACI:1', 'ACI:2', 'PNI:1', 'PNI:2'],
        kyber: ['ACI:1', 'ACI:2', 'PNI:1', 'PNI:2'],
      });

      // The code was used up: a replay is refused and creates nothing.
      const replay = await link({ ...linkInput(code, aciPair.privateKey, pniPrivate) });
      expect(codeOf(replay)).toBe('BAD_USER_INPUT');
      expect(replay.errors?.[0]?.message).toMatch(/already used/);
      expect(await deviceIds(alice.aci)).toEqual([1, 2]);

      // Only the primary makes link codes.
      const fromLinked = await gql(CREATE_CODE, {}, token);
      expect(codeOf(fromLinked)).toBe('FORBIDDEN');
      expect(codeOf(await gql(CREATE_CODE))).toBe('UNAUTHENTICATED');
    } finally {
      await events.return?.();
      await client.dispose();
    }
  });

  it('refuses keys signed by a foreign identity and stores nothing; the code stays usable once', async () => {
    const bob = await registerTestAccount(platform, '+14155550302');
    const code = await createCode(bob);
    const before = await storedKeyDevices(bob.aci);

    const foreign = IdentityKeyPair.generate().privateKey;
    const wrongAci = await link(
      linkInput(code, foreign, bob.pniIdentity.identityKeyPair.privateKey),
    );
    expect(codeOf(wrongAci)).toBe('BAD_USER_INPUT');
    expect(wrongAci.errors?.[0]?.extensions?.['field']).toBe('aciSignedPreKey');
    const wrongPni = await link(
      linkInput(code, bob.aciIdentity.identityKeyPair.privateKey, foreign),
    );
    expect(codeOf(wrongPni)).toBe('BAD_USER_INPUT');
    expect(wrongPni.errors?.[0]?.extensions?.['field']).toBe('pniSignedPreKey');
    expect(await deviceIds(bob.aci)).toEqual([1]);
    expect(await storedKeyDevices(bob.aci)).toEqual(before);
    expect(await platform.runtime.prisma.usedLinkCode.count({ where: { aci: bob.aci } })).toBe(0);

    // Two concurrent uses of the same (still unused) code: exactly one links a device.
    const input = () =>
      linkInput(
        code,
        bob.aciIdentity.identityKeyPair.privateKey,
        bob.pniIdentity.identityKeyPair.privateKey,
      );
    const results = await Promise.all([link(input()), link(input())]);
    expect(results.filter((r) => r.errors === undefined)).toHaveLength(1);
    expect(results.map(codeOf).filter(Boolean)).toEqual(['BAD_USER_INPUT']);
    expect(await deviceIds(bob.aci)).toEqual([1, 2]);
  });

  it('removing a linked device revokes its token and closes its open subscription', async () => {
    const erin = await registerTestAccount(platform, '+14155550306');
    const loginAs = async (deviceId: number, password: string) => {
      const body = await gql<{ login: { accessToken: string } }>(LOGIN, {
        input: { aci: erin.aci, deviceId, password },
      });
      expect(body.errors).toBeUndefined();
      return body.data!.login.accessToken;
    };
    const linkAndLogin = async () => {
      const input = linkInput(
        await createCode(erin),
        erin.aciIdentity.identityKeyPair.privateKey,
        erin.pniIdentity.identityKeyPair.privateKey,
      );
      const linked = await link(input);
      expect(linked.errors).toBeUndefined();
      const deviceId = linked.data!.linkDevice.deviceId;
      return { deviceId, token: await loginAs(deviceId, input.password) };
    };
    const second = await linkAndLogin();
    const third = await linkAndLogin();
    const remove = (deviceId: number, token: string) =>
      gql('mutation ($d: Int!) { removeDevice(deviceId: $d) }', { d: deviceId }, token);

    expect(codeOf(await remove(third.deviceId, second.token))).toBe('FORBIDDEN');

    const client = createWsClient(platform.gatewayWsUrl, { token: second.token });
    const events = subscribe(client, 'subscription { envelopes { __typename } }');
    try {
      expect((await events.next()).value?.data).toEqual({
        envelopes: { __typename: 'QueueEmpty' },
      });
      expect((await remove(second.deviceId, erin.token)).errors).toBeUndefined();
      const ended = await events.next().then(
        (result) => (result.done ? 'completed' : JSON.stringify(result.value)),
        (error: unknown) => `closed: ${String(error)}`,
      );
      expect(
        ended === 'completed' || ended.startsWith('closed') || ended.includes('"errors"'),
      ).toBe(true);
    } finally {
      await events.return?.();
      await client.dispose();
    }
    expect(codeOf(await gql('{ me { aci } }', {}, second.token))).toBe('UNAUTHENTICATED');
    expect((await storedKeyDevices(erin.aci)).ec).not.toContain(`ACI:${second.deviceId}`);

    expect((await remove(third.deviceId, third.token)).errors).toBeUndefined();
    expect(await deviceIds(erin.aci)).toEqual([1]);
  });

  it('refuses a seventh device with CONFLICT and does not use up its code', async () => {
    const carol = await registerTestAccount(platform, '+14155550303');
    for (let expected = 2; expected <= 6; expected++) {
      const linked = await linkFrom(carol);
      expect(linked.errors).toBeUndefined();
      expect(linked.data?.linkDevice.deviceId).toBe(expected);
    }
    const seventh = await linkFrom(carol);
    expect(codeOf(seventh)).toBe('CONFLICT');
    expect(await deviceIds(carol.aci)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await platform.runtime.prisma.usedLinkCode.count({ where: { aci: carol.aci } })).toBe(5);
    expect((await storedKeyDevices(carol.aci)).ec).toHaveLength(12);
  });

  it('refuses codes that are forged or older than a re-registration', async () => {
    const dave = await registerTestAccount(platform, '+14155550304');
    const code = await createCode(dave);
    const keys = [
      dave.aciIdentity.identityKeyPair.privateKey,
      dave.pniIdentity.identityKeyPair.privateKey,
    ] as const;
    const forged = `${code.slice(0, -2)}${code.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const bad of [forged, 'not-a-code']) {
      const refused = await link(linkInput(bad, ...keys));
      expect(codeOf(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors?.[0]?.extensions?.['field']).toBe('code');
    }

    // Re-registering the number replaces the primary: codes it made before no longer work.
    const again = await registerTestAccount(platform, '+14155550304');
    expect(again.aci).toBe(dave.aci);
    const stale = await link(
      linkInput(
        code,
        again.aciIdentity.identityKeyPair.privateKey,
        again.pniIdentity.identityKeyPair.privateKey,
      ),
    );
    expect(codeOf(stale)).toBe('BAD_USER_INPUT');
    expect(await deviceIds(dave.aci)).toEqual([1]);
  });

  it('relays provisioning messages up to 256 KiB and refuses bigger or misaddressed ones', async () => {
    const erin = await registerTestAccount(platform, '+14155550305');
    const address = randomBytes(16).toString('base64url');
    const send = (to: string, bytes: number, token: string | null = erin.token) =>
      gql(SEND, { address: to, body: randomBytes(bytes).toString('base64') }, token ?? undefined);

    const atLimit = await send(address, 256 * 1024);
    expect(atLimit.errors).toBeUndefined();
    expect(atLimit.data).toEqual({ sendProvisioningMessage: true });
    const over = await send(address, 256 * 1024 + 1);
    expect(codeOf(over)).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOf(await send('not an address', 10))).toBe('BAD_USER_INPUT');
    expect(codeOf(await send(`${address}AA`, 10))).toBe('BAD_USER_INPUT');
    expect(codeOf(await send(address, 10, null))).toBe('UNAUTHENTICATED');
  });
});
