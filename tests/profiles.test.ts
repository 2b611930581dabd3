import { randomBytes, randomUUID } from 'node:crypto';
import { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import {
  ClientZkProfileOperations,
  ExpiringProfileKeyCredentialResponse,
  GroupSecretParams,
  ProfileKey,
  ServerPublicParams,
  ServerZkProfileOperations,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import {
  expectData,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SET_PROFILE = `mutation($input: SetProfileInput!) {
  setProfile(input: $input) {
    version avatar
    avatarUploadForm { cdn key uploadUrl headers { name value } expiresAt }
  }
}`;

const PROFILE = `query($id: String!, $version: String, $request: Base64, $access: ProfileAccess) {
  profile(serviceId: $id, version: $version, credentialRequest: $request, access: $access) {
    aci version name about aboutEmoji paymentAddress avatar
    unidentifiedAccess unrestrictedUnidentifiedAccess capabilities
    credential credentialExpiresAt
    account { aci identityKey }
  }
}`;

interface ProfileData {
  aci: string;
  version: string | null;
  name: string | null;
  about: string | null;
  aboutEmoji: string | null;
  avatar: string | null;
  unidentifiedAccess: string | null;
  credential: string | null;
  credentialExpiresAt: number | null;
  account: { aci: string; identityKey: string | null };
}

const DAY_MS = 86_400_000;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const random = (length: number) => new Uint8Array(randomBytes(length));

/** A profile key held by a client, and the profile ciphertexts it would upload. */
function profileOf(account: TestAccount) {
  const aci = Aci.fromUuid(account.aci);
  const profileKey = new ProfileKey(random(32));
  return {
    aci,
    profileKey,
    version: profileKey.getProfileKeyVersion(aci).toString(),
    commitment: profileKey.getCommitment(aci).serialize(),
    name: random(81),
    about: random(156),
    aboutEmoji: random(60),
  };
}

function setProfileInput(profile: ReturnType<typeof profileOf>, overrides = {}) {
  return {
    version: profile.version,
    commitment: b64(profile.commitment),
    name: b64(profile.name),
    about: b64(profile.about),
    aboutEmoji: b64(profile.aboutEmoji),
    avatar: 'KEEP',
    ...overrides,
  };
}

describe('profiles', () => {
  let platform: Platform;
  let alice: TestAccount;
  let bob: TestAccount;
  let aliceProfile: ReturnType<typeof profileOf>;

  const storedProfiles = () =>
    platform.runtime.prisma.profile.findMany({ where: { aci: alice.aci } });

  beforeAll(async () => {
    platform = await startPlatform();
    alice = await registerTestAccount(platform, '+14155550181');
    bob = await registerTestAccount(platform, '+14155550182');
    aliceProfile = profileOf(alice);
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('stores a profile version and hands out an avatar upload form', async () => {
    const data = expectData<{
      setProfile: {
        version: string;
        avatar: string;
        avatarUploadForm: { cdn: number; key: string; uploadUrl: string; expiresAt: number };
      };
    }>(
      await postGraphQL(platform.gatewayUrl, SET_PROFILE, {
        token: alice.token,
        variables: {
          input: setProfileInput(aliceProfile, { avatar: 'UPLOAD', avatarUploadLength: 40_000 }),
        },
      }),
      'setProfile',
    );
    const form = data.setProfile.avatarUploadForm;
    expect(data.setProfile.version).toBe(aliceProfile.version);
    expect(form.cdn).toBe(3);
    expect(Buffer.from(form.key, 'base64url')).toHaveLength(15);
    expect(data.setProfile.avatar).toBe(form.key);
    const rows = await storedProfiles();
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]!.name)).toEqual(Buffer.from(aliceProfile.name));
  });

  it('serves the profile to another account with its token, joined with keys', async () => {
    const data = expectData<{ profile: ProfileData }>(
      await postGraphQL(platform.gatewayUrl, PROFILE, {
        token: bob.token,
        variables: { id: alice.aci, version: aliceProfile.version },
      }),
      'profile',
    );
    expect(data.profile.aci).toBe(alice.aci);
    expect(data.profile.version).toBe(aliceProfile.version);
    expect(data.profile.name).toBe(b64(aliceProfile.name));
    expect(data.profile.about).toBe(b64(aliceProfile.about));
    expect(data.profile.aboutEmoji).toBe(b64(aliceProfile.aboutEmoji));
    expect(data.profile.avatar).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(data.profile.credential).toBeNull();
    expect(data.profile.account.identityKey).toBe(b64(alice.aciIdentity.identityKey));
    expect(data.profile.unidentifiedAccess).not.toBeNull();
    const pni = await postGraphQL(
      platform.gatewayUrl,
      'query($id: String!) { profile(serviceId: $id) { account { pni } } }',
      { token: bob.token, variables: { id: alice.aci } },
    );
    expect(pni.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('serves the profile without a token to a caller holding the unidentified access key', async () => {
    const data = expectData<{ profile: ProfileData }>(
      await postGraphQL(platform.gatewayUrl, PROFILE, {
        variables: {
          id: alice.aci,
          version: aliceProfile.version,
          access: { unidentifiedAccessKey: b64(alice.unidentifiedAccessKey) },
        },
      }),
      'profile',
    );
    expect(data.profile.name).toBe(b64(aliceProfile.name));
  });

  it('refuses a wrong access key, no access and an unknown account the same way', async () => {
    const answers = await Promise.all([
      postGraphQL(platform.gatewayUrl, PROFILE, {
        variables: { id: alice.aci, access: { unidentifiedAccessKey: b64(random(16)) } },
      }),
      postGraphQL(platform.gatewayUrl, PROFILE, { variables: { id: alice.aci } }),
      postGraphQL(platform.gatewayUrl, PROFILE, {
        variables: {
          id: randomUUID(),
          access: { unidentifiedAccessKey: b64(alice.unidentifiedAccessKey) },
        },
      }),
    ]);
    for (const { body } of answers) {
      expect(body.data?.profile ?? null).toBeNull();
      expect(body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
      expect(body.errors?.[0]?.message).toBe(answers[0]!.body.errors?.[0]?.message);
    }
    const unknown = await postGraphQL(platform.gatewayUrl, PROFILE, {
      token: bob.token,
      variables: { id: randomUUID() },
    });
    expect(unknown.body.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
  });

  it('issues an expiring profile key credential whose presentation the server verifies', async () => {
    const published = expectData<{ zkServerPublicParams: string }>(
      await postGraphQL(platform.gatewayUrl, '{ zkServerPublicParams }'),
      'zkServerPublicParams',
    );
    const publicParams = new ServerPublicParams(
      new Uint8Array(Buffer.from(published.zkServerPublicParams, 'base64')),
    );
    const client = new ClientZkProfileOperations(publicParams);
    // Bob learned Alice's profile key (in a message) and asks for a credential for it.
    const context = client.createProfileKeyCredentialRequestContext(
      aliceProfile.aci,
      aliceProfile.profileKey,
    );
    const data = expectData<{ profile: ProfileData }>(
      await postGraphQL(platform.gatewayUrl, PROFILE, {
        token: bob.token,
        variables: {
          id: alice.aci,
          version: aliceProfile.version,
          request: b64(context.getRequest().serialize()),
        },
      }),
      'profile',
    );
    const expiresAt = data.profile.credentialExpiresAt ?? 0;
    expect(expiresAt % DAY_MS).toBe(0);
    expect(expiresAt - Date.now()).toBeGreaterThan(6 * DAY_MS);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(7 * DAY_MS);
    const credential = client.receiveExpiringProfileKeyCredential(
      context,
      new ExpiringProfileKeyCredentialResponse(
        new Uint8Array(Buffer.from(data.profile.credential ?? '', 'base64')),
      ),
    );
    expect(credential.getExpirationTime().getTime()).toBe(expiresAt);
    const group = GroupSecretParams.generate();
    const presentation = client.createExpiringProfileKeyCredentialPresentation(group, credential);
    const server = new ServerZkProfileOperations(platform.accounts.zkSecretParams);
    expect(() =>
      server.verifyProfileKeyCredentialPresentation(group.getPublicParams(), presentation),
    ).not.toThrow();
  });

  it('refuses a credential request made for another profile key', async () => {
    const client = new ClientZkProfileOperations(
      platform.accounts.zkSecretParams.getPublicParams(),
    );
    const request = client
      .createProfileKeyCredentialRequestContext(aliceProfile.aci, new ProfileKey(random(32)))
      .getRequest();
    const { body } = await postGraphQL(platform.gatewayUrl, PROFILE, {
      token: bob.token,
      variables: {
        id: alice.aci,
        version: aliceProfile.version,
        request: b64(request.serialize()),
      },
    });
    expect(body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('refuses oversize fields naming them, and stores nothing', async () => {
    const before = await storedProfiles();
    const next = profileOf(alice);
    const refusals: Array<[Record<string, unknown>, string, string | undefined]> = [
      [{ name: b64(random(82)) }, 'BAD_USER_INPUT', 'input.name'],
      [{ about: b64(random(541)) }, 'BAD_USER_INPUT', 'input.about'],
      [{ aboutEmoji: b64(random(61)) }, 'BAD_USER_INPUT', 'input.aboutEmoji'],
      [{ paymentAddress: b64(random(583)) }, 'BAD_USER_INPUT', 'input.paymentAddress'],
      [{ commitment: b64(random(20)) }, 'BAD_USER_INPUT', 'input.commitment'],
      [
        { avatar: 'UPLOAD', avatarUploadLength: 10 * 1024 * 1024 + 1 },
        'PAYLOAD_TOO_LARGE',
        undefined,
      ],
    ];
    for (const [overrides, code, field] of refusals) {
      for (const profile of [aliceProfile, next]) {
        const { body } = await postGraphQL(platform.gatewayUrl, SET_PROFILE, {
          token: alice.token,
          variables: { input: setProfileInput(profile, overrides) },
        });
        expect(body.data?.setProfile ?? null).toBeNull();
        expect(body.errors?.[0]?.extensions?.['code']).toBe(code);
        if (field) expect(body.errors?.[0]?.extensions?.['field']).toBe(field);
      }
    }
    expect(await storedProfiles()).toEqual(before);
  });

  it('answers a caller the profile owner blocked as if the account did not exist', async () => {
    const block = (mutation: string) =>
      postGraphQL(platform.gatewayUrl, `mutation($aci: ID!) { ${mutation}(aci: $aci) }`, {
        token: alice.token,
        variables: { aci: bob.aci },
      });
    expectData(await block('blockAccount'), 'blockAccount');
    try {
      const blocked = await postGraphQL(platform.gatewayUrl, PROFILE, {
        token: bob.token,
        variables: { id: alice.aci, version: aliceProfile.version },
      });
      const unknown = await postGraphQL(platform.gatewayUrl, PROFILE, {
        token: bob.token,
        variables: { id: randomUUID() },
      });
      expect(blocked.body.data?.profile ?? null).toBeNull();
      expect(blocked.body.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
      expect(blocked.body.errors?.[0]?.message).toBe(unknown.body.errors?.[0]?.message);
    } finally {
      expectData(await block('unblockAccount'), 'unblockAccount');
    }
    const again = await postGraphQL(platform.gatewayUrl, PROFILE, {
      token: bob.token,
      variables: { id: alice.aci },
    });
    expect(again.body.errors).toBeUndefined();
  });

  it('refuses setProfile without a token', async () => {
    const { body } = await postGraphQL(platform.gatewayUrl, SET_PROFILE, {
      variables: { input: setProfileInput(aliceProfile) },
    });
    expect(body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});
