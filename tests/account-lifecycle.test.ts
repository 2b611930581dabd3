import { postGraphQL, registerTestAccount, startPlatform, type Platform } from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const codeOf = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  body.errors?.[0]?.extensions?.['code'];

describe('devices, blocking and deletion', () => {
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('blocks, lists and unblocks accounts', async () => {
    const alice = await registerTestAccount(platform, '+14155550131');
    const bob = await registerTestAccount(platform, '+14155550132');
    const block = await postGraphQL(
      platform.gatewayUrl,
      'mutation($a: ID!) { blockAccount(aci: $a) }',
      { token: alice.token, variables: { a: bob.aci } },
    );
    expect(block.body).toEqual({ data: { blockAccount: true } });
    const list = () =>
      postGraphQL<{ blockedAccounts: string[] }>(platform.gatewayUrl, '{ blockedAccounts }', {
        token: alice.token,
      });
    expect((await list()).body.data?.blockedAccounts).toEqual([bob.aci]);
    await postGraphQL(platform.gatewayUrl, 'mutation($a: ID!) { unblockAccount(aci: $a) }', {
      token: alice.token,
      variables: { a: bob.aci },
    });
    expect((await list()).body.data?.blockedAccounts).toEqual([]);
  });

  it('refuses blocking oneself or a malformed id, and changes nothing', async () => {
    const carol = await registerTestAccount(platform, '+14155550133');
    for (const aci of [carol.aci, 'not-a-uuid']) {
      const { body } = await postGraphQL(
        platform.gatewayUrl,
        'mutation($a: ID!) { blockAccount(aci: $a) }',
        { token: carol.token, variables: { a: aci } },
      );
      expect(codeOf(body)).toBe('BAD_USER_INPUT');
    }
    expect(await platform.runtime.prisma.block.count({ where: { blockerAci: carol.aci } })).toBe(0);
  });

  it('refuses removing the primary or an unknown device', async () => {
    const dave = await registerTestAccount(platform, '+14155550134');
    const remove = (deviceId: number) =>
      postGraphQL(platform.gatewayUrl, 'mutation($d: Int!) { removeDevice(deviceId: $d) }', {
        token: dave.token,
        variables: { d: deviceId },
      });
    expect(codeOf((await remove(1)).body)).toBe('FORBIDDEN');
    expect(codeOf((await remove(5)).body)).toBe('NOT_FOUND');
    expect(codeOf((await remove(500)).body)).toBe('BAD_USER_INPUT');
  });

  it('deletes an account: tokens refused, keys gone, the number registers anew', async () => {
    const erin = await registerTestAccount(platform, '+14155550135');
    const deleted = await postGraphQL(platform.gatewayUrl, 'mutation { deleteAccount }', {
      token: erin.token,
    });
    expect(deleted.body).toEqual({ data: { deleteAccount: true } });
    const me = await postGraphQL(platform.gatewayUrl, '{ me { aci } }', { token: erin.token });
    expect(codeOf(me.body)).toBe('UNAUTHENTICATED');
    const prisma = platform.runtime.prisma;
    expect(await prisma.account.count({ where: { aci: erin.aci } })).toBe(0);
    expect(await prisma.device.count({ where: { aci: erin.aci } })).toBe(0);
    expect(await prisma.identityKey.count({ where: { aci: erin.aci } })).toBe(0);
    expect(await prisma.signedEcPreKey.count({ where: { aci: erin.aci } })).toBe(0);
    expect(await prisma.kyberPreKey.count({ where: { aci: erin.aci } })).toBe(0);

    const again = await registerTestAccount(platform, '+14155550135');
    expect(again.aci).not.toBe(erin.aci);
  });

  it("a blocked account cannot fetch the blocker's profile", async () => {
    const gina = await registerTestAccount(platform, '+14155550136');
    const hank = await registerTestAccount(platform, '+14155550137');
    const fetchProfile = () =>
      postGraphQL<{ profile: { aci: string } | null }>(
        platform.gatewayUrl,
        'query($id: String!) { profile(serviceId: $id) { aci } }',
        { token: hank.token, variables: { id: gina.aci } },
      );
    expect((await fetchProfile()).body.data?.profile?.aci).toBe(gina.aci);
    await postGraphQL(platform.gatewayUrl, 'mutation($a: ID!) { blockAccount(aci: $a) }', {
      token: gina.token,
      variables: { a: hank.aci },
    });
    expect(codeOf((await fetchProfile()).body)).toBe('NOT_FOUND');
  });

  it('changes device attributes; a new password revokes old tokens and returns a new one', async () => {
    const ivan = await registerTestAccount(platform, '+14155550138');
    const SET = `mutation($input: AccountAttributesInput!) {
      setAccountAttributes(input: $input) {
        device { id registrationId capabilities encryptedName }
        accessToken { accessToken }
      }
    }`;
    const changed = await postGraphQL<{
      setAccountAttributes: {
        device: { registrationId: number; capabilities: string[]; encryptedName: string };
        accessToken: null;
      };
    }>(platform.gatewayUrl, SET, {
      token: ivan.token,
      variables: {
        input: { registrationId: 4242, capabilities: ['storage'], encryptedDeviceName: 'AAEC' },
      },
    });
    expect(changed.body.data?.setAccountAttributes).toEqual({
      device: { id: 1, registrationId: 4242, capabilities: ['storage'], encryptedName: 'AAEC' },
      accessToken: null,
    });

    const refused = await postGraphQL(platform.gatewayUrl, SET, {
      token: ivan.token,
      variables: { input: { registrationId: 0, capabilities: ['other'] } },
    });
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'registrationId',
    });
    const device = await platform.runtime.prisma.device.findUniqueOrThrow({
      where: { aci_deviceId: { aci: ivan.aci, deviceId: 1 } },
    });
    expect(device.capabilities).toEqual(['storage']);

    const newPassword = 'a-brand-new-device-password-42';
    const rotated = await postGraphQL<{
      setAccountAttributes: { accessToken: { accessToken: string } };
    }>(platform.gatewayUrl, SET, {
      token: ivan.token,
      variables: { input: { password: newPassword } },
    });
    const fresh = rotated.body.data!.setAccountAttributes.accessToken.accessToken;
    const me = (token: string) => postGraphQL(platform.gatewayUrl, '{ me { aci } }', { token });
    expect(codeOf((await me(ivan.token)).body)).toBe('UNAUTHENTICATED');
    expect((await me(fresh)).body.errors).toBeUndefined();
    const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
    const login = (password: string) =>
      postGraphQL(platform.gatewayUrl, LOGIN, {
        variables: { i: { aci: ivan.aci, deviceId: 1, password } },
      });
    expect(codeOf((await login(ivan.password)).body)).toBe('UNAUTHENTICATED');
    expect((await login(newPassword)).body.errors).toBeUndefined();
  });
});
