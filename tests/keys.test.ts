import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  CiphertextMessageType,
  KEMKeyPair,
  PreKeySignalMessage,
  PrivateKey,
  ProtocolAddress,
  processPreKeyBundle,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import {
  PRE_KEY_BUNDLE_FIELDS,
  TestSignalStores,
  expectData,
  generateKyberPreKeys,
  generateOneTimePreKeys,
  linkTestDevice,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  toLibsignalBundle,
  uploadOneTimeKeys,
  uploadPreKeys,
  type GraphQLResponse,
  type Platform,
  type PreKeyBundleDeviceResponse,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BUNDLE = `mutation ($id: String!, $device: Int, $access: KeyAccess) {
  preKeyBundle(serviceId: $id, deviceId: $device, access: $access) { ${PRE_KEY_BUNDLE_FIELDS} } }`;
const COUNTS = `query ($identity: IdentityType!) { preKeyCounts(identity: $identity) { ecCount kyberCount } }`;
const CHECK = `query ($identity: IdentityType!, $digest: Base64!) {
  checkPreKeys(identity: $identity, digest: $digest) }`;

interface BundleData {
  preKeyBundle: { identityKey: string; devices: PreKeyBundleDeviceResponse[] } | null;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const codeOf = (body: GraphQLResponse<unknown>) => body.errors?.[0]?.extensions?.['code'];
const fieldOf = (body: GraphQLResponse<unknown>) => body.errors?.[0]?.extensions?.['field'];

/** Signal's key-check digest, as a client computes it. */
function clientDigest(identityKey: Uint8Array, ec: SignedKey, kyber: SignedKey): string {
  const id = (keyId: number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(BigInt(keyId));
    return buffer;
  };
  return createHash('sha256')
    .update(identityKey)
    .update(id(ec.keyId))
    .update(ec.publicKey)
    .update(id(kyber.keyId))
    .update(kyber.publicKey)
    .digest('base64');
}
type SignedKey = { keyId: number; publicKey: Uint8Array };

describe('prekey server through the gateway', () => {
  let platform: Platform;
  let numbers = 0;
  const register = () =>
    registerTestAccount(platform, `+1415555${String(2000 + numbers++).padStart(4, '0')}`);

  const gql = async <T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<T>> =>
    (await postGraphQL<T>(platform.gatewayUrl, query, { variables, ...(token ? { token } : {}) }))
      .body;

  const counts = async (account: { token: string }, identity: 'ACI' | 'PNI' = 'ACI') =>
    expectData<{ preKeyCounts: { ecCount: number; kyberCount: number } }>(
      { body: await gql(COUNTS, { identity }, account.token) },
      'preKeyCounts',
    ).preKeyCounts;

  const bundle = (
    serviceId: string,
    options: { token?: string; device?: number | null; access?: Uint8Array } = {},
  ) =>
    gql<BundleData>(
      BUNDLE,
      {
        id: serviceId,
        device: options.device === undefined ? 1 : options.device,
        ...(options.access ? { access: { unidentifiedAccessKey: b64(options.access) } } : {}),
      },
      options.token,
    );

  /**
   * The sender side of PQXDH: builds libsignal's bundle from the server's bytes, processes it and
   * encrypts; returns the PreKeySignalMessage.
   */
  async function encryptTo(
    sender: TestAccount,
    senderStores: TestSignalStores,
    recipientServiceId: string,
    identityKey: string,
    device: PreKeyBundleDeviceResponse,
    plaintext: string,
  ): Promise<PreKeySignalMessage> {
    const address = ProtocolAddress.new(recipientServiceId, device.deviceId);
    const local = ProtocolAddress.new(sender.aci, 1);
    await processPreKeyBundle(
      toLibsignalBundle(identityKey, device),
      address,
      local,
      senderStores.sessions,
      senderStores.identity,
    );
    const message = await signalEncrypt(
      new Uint8Array(Buffer.from(plaintext)),
      address,
      local,
      senderStores.sessions,
      senderStores.identity,
    );
    expect(message.type()).toBe(CiphertextMessageType.PreKey);
    return PreKeySignalMessage.deserialize(message.serialize());
  }

  /** The recipient side: decrypts with the private keys held in its stores. */
  async function decryptWith(
    stores: TestSignalStores,
    recipient: { serviceId: string; deviceId: number },
    sender: TestAccount,
    message: PreKeySignalMessage,
  ): Promise<string> {
    const plaintext = await signalDecryptPreKey(
      message,
      ProtocolAddress.new(sender.aci, 1),
      ProtocolAddress.new(recipient.serviceId, recipient.deviceId),
      stores.sessions,
      stores.identity,
      stores.preKeys,
      stores.signedPreKeys,
      stores.kyberPreKeys,
    );
    return Buffer.from(plaintext).toString();
  }

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('hands out one-time keys, then the last-resort Kyber key, and real PQXDH sessions work', async () => {
    const [alice, bob] = [await register(), await register()];
    const aliceStores = TestSignalStores.forIdentity(alice.aciIdentity);
    const ec = generateOneTimePreKeys(2, 100);
    const kyber = generateKyberPreKeys(alice.aciIdentity.identityKeyPair, 2, 200);
    await uploadOneTimeKeys(platform.gatewayUrl, alice.token, 'ACI', aliceStores, ec, kyber);
    expect(await counts(alice)).toEqual({ ecCount: 2, kyberCount: 2 });
    expect(await counts(alice, 'PNI')).toEqual({ ecCount: 0, kyberCount: 0 });

    const seenEc: number[] = [];
    const seenKyber: number[] = [];
    for (let round = 0; round < 3; round++) {
      const body = await bundle(alice.aci, { token: bob.token });
      expect(body.errors).toBeUndefined();
      const result = body.data!.preKeyBundle!;
      expect(result.identityKey).toBe(b64(alice.aciIdentity.identityKey));
      expect(result.devices).toHaveLength(1);
      const device = result.devices[0]!;
      expect(device).toMatchObject({
        deviceId: 1,
        registrationId: alice.aciIdentity.registrationId,
        signedPreKey: { keyId: alice.aciIdentity.signedPreKey.keyId },
      });
      if (device.preKey) seenEc.push(device.preKey.keyId);
      seenKyber.push(device.kyberPreKey.keyId);
      // Bob (a fresh session each round) encrypts; Alice decrypts with her private keys.
      const message = await encryptTo(
        bob,
        TestSignalStores.forIdentity(bob.aciIdentity),
        alice.aci,
        result.identityKey,
        device,
        `hello ${round}`,
      );
      expect(message.preKeyId()).toBe(device.preKey?.keyId ?? null);
      expect(
        await decryptWith(aliceStores, { serviceId: alice.aci, deviceId: 1 }, bob, message),
      ).toBe(`hello ${round}`);
    }
    expect(seenEc.sort()).toEqual([100, 101]);
    // Two one-time Kyber keys, then the last-resort key (id 1).
    expect(seenKyber.slice(0, 2).sort()).toEqual([200, 201]);
    expect(seenKyber[2]).toBe(alice.aciIdentity.lastResortKyberPreKey.keyId);
    expect(aliceStores.kyberPreKeys.used).toEqual(seenKyber);
    expect(await counts(alice)).toEqual({ ecCount: 0, kyberCount: 0 });
  });

  it('serves every device of a two-device account, each decrypting its own message', async () => {
    const [carol, bob] = [await register(), await register()];
    const primaryStores = TestSignalStores.forIdentity(carol.aciIdentity);
    const linked = await linkTestDevice(platform, carol);
    expect(linked.deviceId).toBe(2);
    const ec = generateOneTimePreKeys(1, 300);
    const kyber = generateKyberPreKeys(carol.aciIdentity.identityKeyPair, 1, 400);
    // Only the linked device uploads one-time keys; the primary falls back to its last resort.
    await uploadOneTimeKeys(platform.gatewayUrl, linked.token, 'ACI', linked.aciStores, ec, kyber);
    expect(await counts({ token: linked.token })).toEqual({ ecCount: 1, kyberCount: 1 });
    expect(await counts(carol)).toEqual({ ecCount: 0, kyberCount: 0 });

    const body = await bundle(carol.aci, { token: bob.token, device: null });
    expect(body.errors).toBeUndefined();
    const result = body.data!.preKeyBundle!;
    expect(result.devices.map((device) => device.deviceId)).toEqual([1, 2]);
    const [primary, second] = result.devices as [
      PreKeyBundleDeviceResponse,
      PreKeyBundleDeviceResponse,
    ];
    expect(primary.preKey).toBeNull();
    expect(primary.kyberPreKey.keyId).toBe(carol.aciIdentity.lastResortKyberPreKey.keyId);
    expect(second).toMatchObject({
      registrationId: linked.registrationId,
      preKey: { keyId: 300 },
      kyberPreKey: { keyId: 400 },
    });
    const bobStores = TestSignalStores.forIdentity(bob.aciIdentity);
    for (const [device, stores] of [
      [primary, primaryStores],
      [second, linked.aciStores],
    ] as const) {
      const message = await encryptTo(
        bob,
        bobStores,
        carol.aci,
        result.identityKey,
        device,
        `to device ${device.deviceId}`,
      );
      expect(
        await decryptWith(
          stores,
          { serviceId: carol.aci, deviceId: device.deviceId },
          bob,
          message,
        ),
      ).toBe(`to device ${device.deviceId}`);
    }
  });

  it('serves PNI bundles to sealed-sender callers holding the access key', async () => {
    const [dave, bob] = [await register(), await register()];
    const pniStores = TestSignalStores.forIdentity(dave.pniIdentity);
    const ec = generateOneTimePreKeys(1, 500);
    const kyber = generateKyberPreKeys(dave.pniIdentity.identityKeyPair, 1, 600);
    await uploadOneTimeKeys(platform.gatewayUrl, dave.token, 'PNI', pniStores, ec, kyber);
    const serviceId = `PNI:${dave.pni}`;
    const body = await bundle(serviceId, { access: dave.unidentifiedAccessKey });
    expect(body.errors).toBeUndefined();
    const result = body.data!.preKeyBundle!;
    expect(result.identityKey).toBe(b64(dave.pniIdentity.identityKey));
    const device = result.devices[0]!;
    expect(device).toMatchObject({
      registrationId: dave.pniIdentity.registrationId,
      preKey: { keyId: 500 },
      kyberPreKey: { keyId: 600 },
    });
    const message = await encryptTo(
      bob,
      TestSignalStores.forIdentity(bob.aciIdentity),
      serviceId,
      result.identityKey,
      device,
      'to the number',
    );
    expect(await decryptWith(pniStores, { serviceId, deviceId: 1 }, bob, message)).toBe(
      'to the number',
    );
    expect(await counts(dave, 'PNI')).toEqual({ ecCount: 0, kyberCount: 0 });
  });

  it('refuses access without revealing which accounts exist', async () => {
    const [erin, bob] = [await register(), await register()];
    const unknown = randomUUID();
    const wrongKey = new Uint8Array(randomBytes(16));
    // Without a token: missing key, wrong key and unknown account look the same.
    for (const body of [
      await bundle(erin.aci),
      await bundle(erin.aci, { access: wrongKey }),
      await bundle(erin.aci, { access: new Uint8Array(15) }),
      await bundle(unknown, { access: erin.unidentifiedAccessKey }),
    ]) {
      expect(codeOf(body)).toBe('UNAUTHENTICATED');
      expect(body.errors?.[0]?.message).toBe('Prekeys unavailable');
    }
    // Token and access key together: refused.
    expect(codeOf(await bundle(erin.aci, { token: bob.token, access: wrongKey }))).toBe(
      'BAD_USER_INPUT',
    );
    // With a token: an unknown account and an account that blocked the caller look the same.
    const unknownBody = await bundle(unknown, { token: bob.token });
    expect(
      (await gql('mutation ($aci: ID!) { blockAccount(aci: $aci) }', { aci: bob.aci }, erin.token))
        .errors,
    ).toBeUndefined();
    const blockedBody = await bundle(erin.aci, { token: bob.token });
    expect(codeOf(unknownBody)).toBe('NOT_FOUND');
    expect(codeOf(blockedBody)).toBe('NOT_FOUND');
    expect(blockedBody.errors?.[0]?.message).toBe(unknownBody.errors?.[0]?.message);
    // Unknown device, malformed service id.
    expect(codeOf(await bundle(bob.aci, { token: erin.token, device: 5 }))).toBe('NOT_FOUND');
    expect(codeOf(await bundle('not-a-uuid', { token: erin.token }))).toBe('BAD_USER_INPUT');
    // The right access key opens it.
    expect(codeOf(await bundle(erin.aci, { access: erin.unidentifiedAccessKey }))).toBeUndefined();
  });

  it('limits bundle fetches per caller device and target device (6 per 10 minutes)', async () => {
    const [frank, bob] = [await register(), await register()];
    for (let i = 0; i < 6; i++) {
      expect((await bundle(frank.aci, { token: bob.token })).errors).toBeUndefined();
    }
    const limited = await bundle(frank.aci, { token: bob.token });
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.errors?.[0]?.extensions?.['retryAfter']).toBeGreaterThan(0);
    // Another target device (the all-devices form) has its own bucket.
    expect((await bundle(frank.aci, { token: bob.token, device: null })).errors).toBeUndefined();
  });

  it('refuses bad uploads with their code and changes nothing', async () => {
    const [grace, bob] = [await register(), await register()];
    const stores = TestSignalStores.forIdentity(grace.aciIdentity);
    const identityPair = grace.aciIdentity.identityKeyPair;
    await uploadOneTimeKeys(
      platform.gatewayUrl,
      grace.token,
      'ACI',
      stores,
      generateOneTimePreKeys(3, 10),
      generateKyberPreKeys(identityPair, 3, 20),
    );
    const digest = clientDigest(
      grace.aciIdentity.identityKey,
      grace.aciIdentity.signedPreKey,
      grace.aciIdentity.lastResortKyberPreKey,
    );
    const check = async (value: string) =>
      (await gql<{ checkPreKeys: boolean }>(CHECK, { identity: 'ACI', digest: value }, grace.token))
        .data?.checkPreKeys;
    expect(await check(digest)).toBe(true);

    const freshEc = generateOneTimePreKeys(5, 50);
    const freshKyber = generateKyberPreKeys(identityPair, 5, 60);
    const badSignature = { ...freshKyber[1]!, signature: new Uint8Array(freshKyber[1]!.signature) };
    badSignature.signature[5]! ^= 1;
    const wrongType = new Uint8Array(freshEc[2]!.publicKey);
    wrongType[0] = 0x06;
    const newSigned = PrivateKey.generate().getPublicKey().serialize();
    const foreignSigned = {
      keyId: 9,
      publicKey: newSigned,
      signature: bob.aciIdentity.identityKeyPair.privateKey.sign(newSigned),
    };
    const kyberAsEc = KEMKeyPair.generate().getPublicKey().serialize();
    const cases: [string, Parameters<typeof uploadPreKeys>[3], string][] = [
      [
        'a bad signature',
        { ecPreKeys: freshEc, kyberPreKeys: [freshKyber[0]!, badSignature] },
        'kyberPreKeys[1]',
      ],
      [
        'a wrong key type byte',
        { ecPreKeys: [freshEc[0]!, { keyId: 52, publicKey: wrongType }], kyberPreKeys: freshKyber },
        'ecPreKeys[1]',
      ],
      [
        'a truncated key',
        { ecPreKeys: [{ keyId: 53, publicKey: freshEc[3]!.publicKey.slice(0, 32) }] },
        'ecPreKeys[0]',
      ],
      [
        'a Kyber key as an EC key',
        { ecPreKeys: [{ keyId: 54, publicKey: kyberAsEc }] },
        'ecPreKeys[0]',
      ],
      [
        'an EC key as a Kyber key',
        {
          kyberPreKeys: [
            { keyId: 61, publicKey: newSigned, signature: identityPair.privateKey.sign(newSigned) },
          ],
        },
        'kyberPreKeys[0]',
      ],
      ['101 keys', { ecPreKeys: generateOneTimePreKeys(101, 1000) }, 'ecPreKeys'],
      [
        'a repeated key id',
        { kyberPreKeys: [freshKyber[0]!, { ...freshKyber[1]!, keyId: freshKyber[0]!.keyId }] },
        'kyberPreKeys',
      ],
      [
        "a foreign account's signature",
        { ecPreKeys: freshEc, signedPreKey: foreignSigned },
        'signedPreKey',
      ],
      [
        'the last-resort key id on a one-time key',
        {
          ecPreKeys: freshEc,
          kyberPreKeys: generateKyberPreKeys(
            identityPair,
            1,
            grace.aciIdentity.lastResortKyberPreKey.keyId,
          ),
        },
        'kyberPreKeys',
      ],
    ];
    for (const [what, keys, field] of cases) {
      const body = await uploadPreKeys(platform.gatewayUrl, grace.token, 'ACI', keys);
      expect({ what, code: codeOf(body), field: fieldOf(body) }).toEqual({
        what,
        code: 'BAD_USER_INPUT',
        field,
      });
      expect(await counts(grace)).toEqual({ ecCount: 3, kyberCount: 3 });
      expect(await check(digest)).toBe(true);
    }
    expect(
      codeOf(await gql(CHECK, { identity: 'ACI', digest: b64(new Uint8Array(31)) }, grace.token)),
    ).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(COUNTS, { identity: 'ACI' }))).toBe('UNAUTHENTICATED');

    // A valid rotation of the signed and last-resort keys changes the digest.
    const rotated = generateKyberPreKeys(identityPair, 1, 70)[0]!;
    const signed = {
      keyId: 8,
      publicKey: newSigned,
      signature: identityPair.privateKey.sign(newSigned),
    };
    expect(
      (
        await uploadPreKeys(platform.gatewayUrl, grace.token, 'ACI', {
          signedPreKey: signed,
          pqLastResortPreKey: rotated,
        })
      ).errors,
    ).toBeUndefined();
    expect(await check(digest)).toBe(false);
    expect(await check(clientDigest(grace.aciIdentity.identityKey, signed, rotated))).toBe(true);
    expect(await counts(grace)).toEqual({ ecCount: 3, kyberCount: 3 });
  });

  it('deletes the one-time keys of removed devices and deleted accounts', async () => {
    const heidi = await register();
    const linked = await linkTestDevice(platform, heidi);
    const ec = generateOneTimePreKeys(4, 1);
    const kyber = generateKyberPreKeys(heidi.aciIdentity.identityKeyPair, 4, 100);
    await uploadOneTimeKeys(platform.gatewayUrl, linked.token, 'ACI', linked.aciStores, ec, kyber);
    await uploadOneTimeKeys(
      platform.gatewayUrl,
      heidi.token,
      'ACI',
      TestSignalStores.forIdentity(heidi.aciIdentity),
      ec,
      kyber,
    );
    const stored = (deviceId?: number) =>
      platform.runtime.prisma.oneTimeEcPreKey.count({
        where: { aci: heidi.aci, ...(deviceId ? { deviceId } : {}) },
      });
    expect(await stored(2)).toBe(4);
    expect(
      (await gql('mutation { removeDevice(deviceId: 2) }', {}, heidi.token)).errors,
    ).toBeUndefined();
    expect(await stored(2)).toBe(0);
    expect(await stored(1)).toBe(4);
    expect((await gql('mutation { deleteAccount }', {}, heidi.token)).errors).toBeUndefined();
    expect(await stored()).toBe(0);
    expect(await platform.runtime.prisma.kyberPreKey.count({ where: { aci: heidi.aci } })).toBe(0);
  });
});
