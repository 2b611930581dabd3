import {
  REGISTER_ACCOUNT,
  createWsClient,
  subscribe,
  generateTestIdentity,
  postGraphQL,
  registerTestAccount,
  registrationKeyVariables,
  startPlatform,
  verifyNumber,
  type Platform,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken expiresAt } }`;

function registrationInput(sessionId: string, overrides: Record<string, unknown> = {}) {
  const aci = generateTestIdentity();
  const pni = generateTestIdentity();
  return {
    sessionId,
    password: 'a-random-device-password-1234',
    registrationId: aci.registrationId,
    pniRegistrationId: pni.registrationId,
    ...registrationKeyVariables(aci, pni),
    ...overrides,
  };
}

async function countRows(platform: Platform) {
  const prisma = platform.runtime.prisma;
  return {
    accounts: await prisma.account.count(),
    devices: await prisma.device.count(),
    identityKeys: await prisma.identityKey.count(),
    signedPreKeys: await prisma.signedEcPreKey.count(),
    kyberPreKeys: await prisma.kyberPreKey.count(),
  };
}

describe('registration and login', () => {
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('registers an account with its keys, and its token reads `me` joined with keys', async () => {
    const alice = await registerTestAccount(platform, '+14155550111');
    const { body } = await postGraphQL<{
      me: { aci: string; pni: string; number: string; identityKey: string; pniKey: string };
      devices: Array<{ id: number; registrationId: number }>;
    }>(
      platform.gatewayUrl,
      '{ me { aci pni number identityKey pniKey: identityKey(identity: PNI) } devices { id registrationId } }',
      { token: alice.token },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data?.me).toEqual({
      aci: alice.aci,
      pni: alice.pni,
      number: '+14155550111',
      identityKey: Buffer.from(alice.aciIdentity.identityKey).toString('base64'),
      pniKey: Buffer.from(alice.pniIdentity.identityKey).toString('base64'),
    });
    expect(body.data?.devices).toEqual([
      { id: 1, registrationId: alice.aciIdentity.registrationId },
    ]);
    expect(await platform.runtime.prisma.signedEcPreKey.count({ where: { aci: alice.aci } })).toBe(
      2,
    );
    expect(
      await platform.runtime.prisma.kyberPreKey.count({
        where: { aci: alice.aci, lastResort: true },
      }),
    ).toBe(2);
  });

  it('logs in with the device password and refuses a wrong one', async () => {
    const bob = await registerTestAccount(platform, '+14155550112');
    const ok = await postGraphQL<{ login: { accessToken: string; expiresAt: number } }>(
      platform.gatewayUrl,
      LOGIN,
      { variables: { input: { aci: bob.aci, deviceId: 1, password: bob.password } } },
    );
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data?.login.expiresAt).toBeGreaterThan(Date.now());
    const me = await postGraphQL<{ me: { aci: string } }>(platform.gatewayUrl, '{ me { aci } }', {
      token: ok.body.data!.login.accessToken,
    });
    expect(me.body.data?.me.aci).toBe(bob.aci);

    const wrong = await postGraphQL(platform.gatewayUrl, LOGIN, {
      variables: { input: { aci: bob.aci, deviceId: 1, password: 'not-the-password-at-all' } },
    });
    expect(wrong.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('refuses an unverified session and changes nothing', async () => {
    const created = await postGraphQL<{ createVerificationSession: { id: string } }>(
      platform.gatewayUrl,
      'mutation { createVerificationSession(number: "+14155550113") { id } }',
    );
    const before = await countRows(platform);
    const { body } = await postGraphQL(platform.gatewayUrl, REGISTER_ACCOUNT, {
      variables: { input: registrationInput(created.body.data!.createVerificationSession.id) },
    });
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'SESSION_NOT_VERIFIED',
    });
    expect(await countRows(platform)).toEqual(before);
  });

  it('refuses a wrongly signed key, leaves nothing behind, and the session stays usable', async () => {
    const sessionId = await verifyNumber(platform, '+14155550114');
    const stranger = generateTestIdentity();
    const before = await countRows(platform);
    const bad = registrationInput(sessionId);
    const { body } = await postGraphQL(platform.gatewayUrl, REGISTER_ACCOUNT, {
      variables: {
        input: {
          ...bad,
          pniPqLastResortPreKey: {
            keyId: 7,
            publicKey: Buffer.from(stranger.lastResortKyberPreKey.publicKey).toString('base64'),
            signature: Buffer.from(stranger.lastResortKyberPreKey.signature).toString('base64'),
          },
        },
      },
    });
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'pniPqLastResortPreKey',
    });
    expect(await countRows(platform)).toEqual(before);

    const retry = await postGraphQL(platform.gatewayUrl, REGISTER_ACCOUNT, {
      variables: { input: registrationInput(sessionId) },
    });
    expect(retry.body.errors).toBeUndefined();
  });

  it('refuses malformed attributes with the field named', async () => {
    const sessionId = await verifyNumber(platform, '+14155550115');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ registrationId: 0x4000 }, 'registrationId'],
      [{ password: 'short' }, 'password'],
      [{ password: 'x'.repeat(129) }, 'password'],
      [{ encryptedDeviceName: Buffer.alloc(257).toString('base64') }, 'encryptedDeviceName'],
      [{ capabilities: Array.from({ length: 33 }, (_, i) => `c${i}`) }, 'capabilities'],
      [{ unidentifiedAccessKey: Buffer.alloc(15).toString('base64') }, 'unidentifiedAccessKey'],
      [{ aciIdentityKey: Buffer.alloc(33, 7).toString('base64') }, 'aciIdentityKey'],
    ];
    for (const [override, field] of cases) {
      const { body } = await postGraphQL(platform.gatewayUrl, REGISTER_ACCOUNT, {
        variables: { input: registrationInput(sessionId, override) },
      });
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  it('uses a session once', async () => {
    const sessionId = await verifyNumber(platform, '+14155550116');
    const first = await postGraphQL(platform.gatewayUrl, REGISTER_ACCOUNT, {
      variables: { input: registrationInput(sessionId) },
    });
    expect(first.body.errors).toBeUndefined();
    const second = await postGraphQL(platform.gatewayUrl, REGISTER_ACCOUNT, {
      variables: { input: registrationInput(sessionId) },
    });
    expect(second.body.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
  });

  it('re-registration keeps the ACI and PNI, replaces keys, and the old password stops working', async () => {
    const first = await registerTestAccount(platform, '+14155550117');
    const second = await registerTestAccount(platform, '+14155550117');
    expect(second.aci).toBe(first.aci);
    expect(second.pni).toBe(first.pni);
    const oldLogin = await postGraphQL(platform.gatewayUrl, LOGIN, {
      variables: { input: { aci: first.aci, deviceId: 1, password: first.password } },
    });
    expect(oldLogin.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const { body } = await postGraphQL<{ me: { identityKey: string } }>(
      platform.gatewayUrl,
      '{ me { identityKey } }',
      { token: second.token },
    );
    expect(body.data?.me.identityKey).toBe(
      Buffer.from(second.aciIdentity.identityKey).toString('base64'),
    );
  });

  it('revokes the replaced devices: old tokens are refused and open subscriptions close', async () => {
    const first = await registerTestAccount(platform, '+14155550118');
    const client = createWsClient(platform.gatewayWsUrl, { token: first.token });
    const events = subscribe(client, 'subscription { envelopes { __typename } }');
    try {
      expect((await events.next()).value?.data).toEqual({
        envelopes: { __typename: 'QueueEmpty' },
      });
      await registerTestAccount(platform, '+14155550118');
      const ended = await events.next().then(
        (result) => (result.done ? 'completed' : JSON.stringify(result.value)),
        (error: unknown) => `closed: ${String(error)}`,
      );
      expect(
        ended === 'completed' || ended.startsWith('closed') || ended.includes('"errors"'),
      ).toBe(true);
      const { body } = await postGraphQL(platform.gatewayUrl, '{ me { aci } }', {
        token: first.token,
      });
      expect(body.errors?.[0]).toMatchObject({
        message: 'Access token revoked',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    } finally {
      await events.return?.();
      await client.dispose();
    }
  });

  it('rate limits login attempts per device with RATE_LIMITED and retryAfter', async () => {
    const frank = await registerTestAccount(platform, '+14155550119');
    const attempt = () =>
      postGraphQL(platform.gatewayUrl, LOGIN, {
        variables: { input: { aci: frank.aci, deviceId: 1, password: 'wrong-password-0123456' } },
      });
    const codes: unknown[] = [];
    for (let i = 0; i < 11; i++) codes.push((await attempt()).body.errors?.[0]?.extensions);
    expect(
      codes.slice(0, 10).every((e) => (e as { code: string }).code === 'UNAUTHENTICATED'),
    ).toBe(true);
    expect(codes[10]).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
  });
});

describe('access token expiry', () => {
  let platform: Platform;
  let offsetMs = 0;

  beforeAll(async () => {
    platform = await startPlatform({
      clock: () => Date.now() + offsetMs,
      accessTokenTtlSeconds: 60,
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('refuses a token once its lifetime has passed', async () => {
    const grace = await registerTestAccount(platform, '+14155550120');
    const me = () => postGraphQL(platform.gatewayUrl, '{ me { aci } }', { token: grace.token });
    expect((await me()).body.errors).toBeUndefined();
    offsetMs = 61_000;
    expect((await me()).body.errors?.[0]).toMatchObject({
      message: 'Access token expired',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });
});
