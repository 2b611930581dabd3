import { randomBytes, randomUUID } from 'node:crypto';
import { PrivateKey } from '@signalapp/libsignal-client';
import { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import { GroupSecretParams, ProfileKey } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { signal } from '@courier/proto';
import {
  REGISTER_ACCOUNT,
  createWsClient,
  expectData,
  generateTestIdentity,
  linkTestDevice,
  multiRecipientPayload,
  postGraphQL,
  registerTestAccount,
  registrationKeyVariables,
  signedPreKeyVariables,
  startPlatform,
  subscribe,
  verifyNumber,
  type GraphQLResponse,
  type Platform,
  type TestAccount,
  type TestLinkedDevice,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CREATE_GROUP,
  DAY_MS,
  GET_GROUP,
  GROUP_CHANGES,
  GroupUser,
  JOIN_INFO,
  MODIFY_GROUP,
  b64,
  encryptText,
  serverPublicParams,
} from './groups-support.ts';
import { rootFields } from './supergraph-fields.ts';

/**
 * The authorization matrix: every root field of the supergraph (read from
 * `schema/supergraph.graphql`, so a new field without an entry fails), run through the gateway
 * by four callers, with the answer each must get:
 *
 * - `anonymous`: no access token (and, for groups, a presentation that proves nothing);
 * - `other`: another account's primary (for self-scoped fields it acts on its own account);
 * - `linked`: a linked device of the owner's account (Signal: no primary-only actions);
 * - `owner`: the owner's primary device.
 *
 * `ALLOWED` is an answer without errors; anything else is the `extensions.code` of the error.
 * Groups authenticate with zkgroup presentations, not tokens: there each caller presents its
 * own account's credential for the owner's group.
 */

const CALLERS = ['anonymous', 'other', 'linked', 'owner'] as const;
type Caller = (typeof CALLERS)[number];
type Outcome =
  'ALLOWED' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT';

/** One row: what each caller gets, and how the field is called as a caller. */
interface Entry {
  readonly expect: Readonly<Record<Caller, Outcome>>;
  readonly run: (caller: Caller) => Promise<GraphQLResponse<unknown>>;
  /** Run after every other row (it removes callers' accounts). */
  readonly last?: boolean;
}

const ALL_ALLOWED = {
  anonymous: 'ALLOWED',
  other: 'ALLOWED',
  linked: 'ALLOWED',
  owner: 'ALLOWED',
} as const;
const SIGNED_IN = {
  anonymous: 'UNAUTHENTICATED',
  other: 'ALLOWED',
  linked: 'ALLOWED',
  owner: 'ALLOWED',
} as const;
const PRIMARY_ONLY = { ...SIGNED_IN, linked: 'FORBIDDEN' } as const;
/** Group fields for members only: a non-member's valid presentation is `FORBIDDEN`. */
const MEMBERS_ONLY = { ...SIGNED_IN, other: 'FORBIDDEN' } as const;
/** Sealed-sender sends: anonymous only. */
const ANONYMOUS_ONLY = {
  anonymous: 'ALLOWED',
  other: 'UNAUTHENTICATED',
  linked: 'UNAUTHENTICATED',
  owner: 'UNAUTHENTICATED',
} as const;

const FIELDS = rootFields();

function outcomeOf(body: GraphQLResponse<unknown>): string {
  if (body.errors?.length) {
    const codes = [...new Set(body.errors.map((error) => String(error.extensions?.['code'])))];
    return codes.join('+');
  }
  return body.data ? 'ALLOWED' : 'NO DATA';
}

describe('authorization matrix: every operation as anonymous, another account, a linked device and the owner', () => {
  let platform: Platform;
  let owner: TestAccount;
  let other: TestAccount;
  let carol: TestAccount;
  let linked: TestLinkedDevice;
  let removable: TestLinkedDevice;
  let groupUsers: Record<Exclude<Caller, 'anonymous'>, GroupUser>;
  let group: GroupSecretParams;
  const invitePassword = new Uint8Array(randomBytes(16));
  let sessionId: string;
  let numbers = 0;
  const freshNumber = () => `+1415555${String(2000 + numbers++).padStart(4, '0')}`;

  const tokenOf = (caller: Caller): string | undefined =>
    ({ anonymous: undefined, other: other.token, linked: linked.token, owner: owner.token })[
      caller
    ];
  const accountOf = (caller: Caller): TestAccount => (caller === 'other' ? other : owner);
  const gql = async (caller: Caller, query: string, variables: Record<string, unknown> = {}) => {
    const token = tokenOf(caller);
    return (
      await postGraphQL(platform.gatewayUrl, query, { variables, ...(token ? { token } : {}) })
    ).body;
  };
  /** The caller's group auth for `secret`; anonymous presents the owner's for other params. */
  const groupAuth = (caller: Caller, secret: GroupSecretParams) =>
    caller === 'anonymous'
      ? {
          ...groupUsers.owner.auth(GroupSecretParams.generate()),
          publicParams: b64(secret.getPublicParams().serialize()),
        }
      : groupUsers[caller].auth(secret);
  const groupState = (creator: GroupUser, secret: GroupSecretParams) =>
    b64(
      signal.Group.encode({
        publicKey: secret.getPublicParams().serialize(),
        version: 0,
        title: encryptText(secret, 'matrix'),
        accessControl: {
          attributes: signal.AccessControl.AccessRequired.MEMBER,
          members: signal.AccessControl.AccessRequired.MEMBER,
          addFromInviteLink: signal.AccessControl.AccessRequired.ANY,
        },
        inviteLinkPassword: invitePassword,
        members: [
          { role: signal.Member.Role.ADMINISTRATOR, presentation: creator.presentation(secret) },
        ],
      }).finish(),
    );
  const groupVersion = async () =>
    expectData<{ group: { version: number } }>(
      await groupUsers.owner.request(GET_GROUP, { auth: groupUsers.owner.auth(group) }),
      'group',
    ).group.version;
  /** A session for a fresh number with a code sent (anonymously: setup, not the call tested). */
  const sessionWithCode = async () => {
    const number = freshNumber();
    const id = expectData<{ createVerificationSession: { id: string } }>(
      await postGraphQL(
        platform.gatewayUrl,
        'mutation ($n: String!) { createVerificationSession(number: $n) { id } }',
        { variables: { n: number } },
      ),
      'createVerificationSession',
    ).createVerificationSession.id;
    return { number, id };
  };
  const requestCode = async (id: string) =>
    expectData(
      await postGraphQL(
        platform.gatewayUrl,
        'mutation ($s: ID!) { requestVerificationCode(sessionId: $s, transport: SMS) { id } }',
        { variables: { s: id } },
      ),
      'requestVerificationCode',
    );
  const firstEvent = async (caller: Caller, query: string) => {
    const token = tokenOf(caller);
    const client = createWsClient(platform.gatewayWsUrl, token ? { token } : {});
    const events = subscribe(client, query);
    try {
      const next = await events.next();
      return next.done
        ? { errors: [{ message: 'ended', extensions: { code: 'ENDED' } }] }
        : next.value;
    } catch (error) {
      return { errors: [{ message: String(error), extensions: { code: 'SOCKET_CLOSED' } }] };
    } finally {
      await events.return?.();
      await client.dispose();
    }
  };

  /** One entry per root field of the supergraph. */
  const matrix: Record<string, Entry> = {
    // --- accounts ---------------------------------------------------------------------------
    'Query.me': { expect: SIGNED_IN, run: (c) => gql(c, '{ me { aci } }') },
    'Query.devices': { expect: SIGNED_IN, run: (c) => gql(c, '{ devices { id } }') },
    'Query.blockedAccounts': { expect: SIGNED_IN, run: (c) => gql(c, '{ blockedAccounts }') },
    'Query.verificationSession': {
      expect: ALL_ALLOWED,
      run: (c) =>
        gql(c, 'query ($id: ID!) { verificationSession(id: $id) { id } }', { id: sessionId }),
    },
    'Query.profile': {
      expect: SIGNED_IN,
      run: (c) =>
        gql(c, 'query ($s: String!) { profile(serviceId: $s) { __typename } }', { s: owner.aci }),
    },
    'Query.zkServerPublicParams': {
      expect: ALL_ALLOWED,
      run: (c) => gql(c, '{ zkServerPublicParams }'),
    },
    'Mutation.registerAccount': {
      expect: ALL_ALLOWED,
      run: async (c) => {
        const number = freshNumber();
        const session = await verifyNumber(platform, number);
        const [aci, pni] = [generateTestIdentity(), generateTestIdentity()];
        return gql(c, REGISTER_ACCOUNT, {
          input: {
            sessionId: session,
            password: randomBytes(18).toString('base64url'),
            registrationId: aci.registrationId,
            pniRegistrationId: pni.registrationId,
            unidentifiedAccessKey: b64(randomBytes(16)),
            ...registrationKeyVariables(aci, pni),
          },
        });
      },
    },
    'Mutation.login': {
      expect: ALL_ALLOWED,
      run: (c) =>
        gql(c, 'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }', {
          i: { aci: owner.aci, deviceId: 1, password: owner.password },
        }),
    },
    'Mutation.setAccountAttributes': {
      // Account-level access settings: the primary's to change.
      expect: PRIMARY_ONLY,
      run: (c) =>
        gql(
          c,
          'mutation ($i: AccountAttributesInput!) { setAccountAttributes(input: $i) { __typename } }',
          { i: { unrestrictedUnidentifiedAccess: false } },
        ),
    },
    'Mutation.removeDevice': {
      // The owner's second linked device: the linked caller may remove only itself, another
      // account has no such device.
      expect: {
        anonymous: 'UNAUTHENTICATED',
        other: 'NOT_FOUND',
        linked: 'FORBIDDEN',
        owner: 'ALLOWED',
      },
      run: (c) =>
        gql(c, 'mutation ($d: Int!) { removeDevice(deviceId: $d) }', { d: removable.deviceId }),
    },
    'Mutation.blockAccount': {
      expect: SIGNED_IN,
      run: (c) => gql(c, 'mutation ($a: ID!) { blockAccount(aci: $a) }', { a: carol.aci }),
    },
    'Mutation.unblockAccount': {
      expect: SIGNED_IN,
      run: (c) => gql(c, 'mutation ($a: ID!) { unblockAccount(aci: $a) }', { a: carol.aci }),
    },
    'Mutation.deleteAccount': {
      // Each token deletes its own account: run last, the other account and the owner go.
      expect: PRIMARY_ONLY,
      last: true,
      run: (c) => gql(c, 'mutation { deleteAccount }'),
    },
    'Mutation.createVerificationSession': {
      expect: ALL_ALLOWED,
      run: (c) =>
        gql(c, 'mutation ($n: String!) { createVerificationSession(number: $n) { id } }', {
          n: freshNumber(),
        }),
    },
    'Mutation.requestVerificationCode': {
      expect: ALL_ALLOWED,
      run: async (c) =>
        gql(
          c,
          'mutation ($s: ID!) { requestVerificationCode(sessionId: $s, transport: SMS) { id } }',
          { s: (await sessionWithCode()).id },
        ),
    },
    'Mutation.submitVerificationCode': {
      expect: ALL_ALLOWED,
      run: async (c) => {
        const session = await sessionWithCode();
        await requestCode(session.id);
        return gql(
          c,
          'mutation ($s: ID!, $c: String!) { submitVerificationCode(sessionId: $s, code: $c) { verified } }',
          { s: session.id, c: platform.accounts.verificationOutbox?.latest(session.number)?.code },
        );
      },
    },
    'Mutation.createLinkDeviceCode': {
      expect: PRIMARY_ONLY,
      run: (c) => gql(c, 'mutation { createLinkDeviceCode { code } }'),
    },
    'Mutation.sendProvisioningMessage': {
      expect: SIGNED_IN,
      run: (c) =>
        gql(
          c,
          'mutation ($a: String!, $b: Base64!) { sendProvisioningMessage(address: $a, body: $b) }',
          {
            a: randomBytes(16).toString('base64url'),
            b: b64(randomBytes(64)),
          },
        ),
    },
    'Mutation.linkDevice': {
      // The link code authorises (here carol's, made by her primary); a token changes nothing.
      expect: ALL_ALLOWED,
      run: async (c) => {
        const code = expectData<{ createLinkDeviceCode: { code: string } }>(
          await postGraphQL(platform.gatewayUrl, 'mutation { createLinkDeviceCode { code } }', {
            token: carol.token,
          }),
          'createLinkDeviceCode',
        ).createLinkDeviceCode.code;
        const signed = (identity: TestAccount['aciIdentity'], kyber: boolean, keyId: number) =>
          signedPreKeyVariables({
            keyId,
            publicKey: kyber
              ? identity.lastResortKyberPreKey.publicKey
              : identity.signedPreKey.publicKey,
            signature: kyber
              ? identity.lastResortKyberPreKey.signature
              : identity.signedPreKey.signature,
          });
        return gql(c, 'mutation ($i: LinkDeviceInput!) { linkDevice(input: $i) { deviceId } }', {
          i: {
            code,
            password: randomBytes(18).toString('base64url'),
            registrationId: 7,
            pniRegistrationId: 8,
            aciSignedPreKey: signed(carol.aciIdentity, false, 21),
            pniSignedPreKey: signed(carol.pniIdentity, false, 22),
            aciPqLastResortPreKey: signed(carol.aciIdentity, true, 23),
            pniPqLastResortPreKey: signed(carol.pniIdentity, true, 24),
          },
        });
      },
    },
    'Mutation.setProfile': {
      // Any device of the account may store a profile version.
      expect: SIGNED_IN,
      run: (c) => {
        const aci = Aci.fromUuid(accountOf(c).aci);
        const profileKey = new ProfileKey(new Uint8Array(randomBytes(32)));
        return gql(c, 'mutation ($i: SetProfileInput!) { setProfile(input: $i) { version } }', {
          i: {
            version: profileKey.getProfileKeyVersion(aci).toString(),
            commitment: b64(profileKey.getCommitment(aci).serialize()),
            name: b64(randomBytes(81)),
            avatar: 'KEEP',
          },
        });
      },
    },
    'Subscription.provisioning': {
      expect: ALL_ALLOWED,
      run: (c) =>
        firstEvent(
          c,
          'subscription { provisioning { __typename ... on ProvisioningAddress { address } } }',
        ),
    },
    // --- keys -------------------------------------------------------------------------------
    'Query.preKeyCounts': {
      expect: SIGNED_IN,
      run: (c) => gql(c, '{ preKeyCounts(identity: ACI) { __typename } }'),
    },
    'Query.checkPreKeys': {
      expect: SIGNED_IN,
      run: (c) =>
        gql(c, 'query ($d: Base64!) { checkPreKeys(identity: ACI, digest: $d) }', {
          d: b64(new Uint8Array(32)),
        }),
    },
    'Mutation.setPreKeys': {
      expect: SIGNED_IN,
      run: (c) =>
        gql(c, 'mutation ($i: SetPreKeysInput!) { setPreKeys(identity: ACI, input: $i) }', {
          i: {
            ecPreKeys: [
              {
                keyId: 1 + numbers++,
                publicKey: b64(PrivateKey.generate().getPublicKey().serialize()),
              },
            ],
          },
        }),
    },
    'Mutation.preKeyBundle': {
      // Without a token it needs the target's unidentified access key.
      expect: SIGNED_IN,
      run: (c) =>
        gql(c, 'mutation ($s: String!) { preKeyBundle(serviceId: $s) { __typename } }', {
          s: owner.aci,
        }),
    },
    // --- messages ---------------------------------------------------------------------------
    'Query.envelopes': {
      expect: SIGNED_IN,
      run: (c) => gql(c, '{ envelopes(limit: 1, waitSeconds: 0) { __typename } }'),
    },
    'Query.senderCertificate': {
      expect: SIGNED_IN,
      run: (c) => gql(c, '{ senderCertificate { __typename } }'),
    },
    'Query.senderCertificateTrustRoot': {
      expect: ALL_ALLOWED,
      run: (c) => gql(c, '{ senderCertificateTrustRoot }'),
    },
    'Mutation.sendMessage': {
      // Without a token it needs the recipient's unidentified access key (sealed sender).
      expect: SIGNED_IN,
      run: (c) =>
        gql(
          c,
          'mutation ($d: String!, $i: SendMessageInput!) { sendMessage(destination: $d, input: $i) { __typename } }',
          {
            d: carol.aci,
            i: {
              timestamp: Date.now(),
              messages: [
                {
                  deviceId: 1,
                  registrationId: carol.aciIdentity.registrationId,
                  type: 'CIPHERTEXT',
                  content: b64(randomBytes(48)),
                },
              ],
            },
          },
        ),
    },
    'Mutation.sendMultiRecipientMessage': {
      // Sealed sender to many: an access token is refused, the combined access key admits.
      expect: ANONYMOUS_ONLY,
      run: async (c) =>
        gql(
          c,
          `mutation ($p: Base64!, $t: Timestamp!, $a: MessageAccess) {
            sendMultiRecipientMessage(payload: $p, timestamp: $t, access: $a) { __typename } }`,
          {
            p: b64(
              await multiRecipientPayload(
                platform.gatewayUrl,
                owner,
                [carol.aci],
                new Uint8Array([1, 2, 3]),
              ),
            ),
            t: Date.now(),
            a: { unidentifiedAccessKey: b64(carol.unidentifiedAccessKey) },
          },
        ),
    },
    'Mutation.acknowledgeEnvelopes': {
      expect: SIGNED_IN,
      run: (c) =>
        gql(c, 'mutation ($g: [ID!]!) { acknowledgeEnvelopes(guids: $g) }', { g: [randomUUID()] }),
    },
    'Subscription.envelopes': {
      expect: SIGNED_IN,
      run: (c) => firstEvent(c, 'subscription { envelopes { __typename } }'),
    },
    // --- groups (zkgroup presentations, not tokens) -------------------------------------------
    'Query.groupLimits': {
      expect: ALL_ALLOWED,
      run: (c) => gql(c, '{ groupLimits { __typename } }'),
    },
    'Query.groupAuthCredentials': {
      expect: SIGNED_IN,
      run: (c) => {
        const today = Math.floor(Date.now() / DAY_MS);
        return gql(
          c,
          'query ($f: Int!, $t: Int!) { groupAuthCredentials(fromDay: $f, toDay: $t) { __typename } }',
          { f: today, t: today },
        );
      },
    },
    'Query.group': {
      expect: MEMBERS_ONLY,
      run: (c) => gql(c, GET_GROUP, { auth: groupAuth(c, group) }),
    },
    'Query.groupChanges': {
      expect: MEMBERS_ONLY,
      run: (c) => gql(c, GROUP_CHANGES, { auth: groupAuth(c, group), from: 0 }),
    },
    'Query.groupJoinInfo': {
      // With the invite link's password, any account may look before joining.
      expect: SIGNED_IN,
      run: (c) => gql(c, JOIN_INFO, { auth: groupAuth(c, group), password: b64(invitePassword) }),
    },
    'Mutation.createGroup': {
      // Each caller creates a group of its own.
      expect: SIGNED_IN,
      run: (c) => {
        const secret = GroupSecretParams.generate();
        return gql(c, CREATE_GROUP, {
          auth: groupAuth(c, secret),
          group: groupState(groupUsers[c === 'anonymous' ? 'owner' : c], secret),
        });
      },
    },
    'Mutation.modifyGroup': {
      expect: MEMBERS_ONLY,
      run: async (c) =>
        gql(c, MODIFY_GROUP, {
          auth: groupAuth(c, group),
          actions: b64(
            signal.GroupChange.Actions.encode({
              version: (await groupVersion()) + 1,
              modifyTitle: { title: encryptText(group, `retitled by ${c}`) },
            }).finish(),
          ),
        }),
    },
    // --- attachments ------------------------------------------------------------------------
    'Query.attachmentLimits': {
      expect: ALL_ALLOWED,
      run: (c) => gql(c, '{ attachmentLimits { __typename } }'),
    },
    'Mutation.createAttachmentUploadForm': {
      expect: SIGNED_IN,
      run: (c) => gql(c, 'mutation { createAttachmentUploadForm(uploadLength: 100) { key } }'),
    },
  };

  beforeAll(async () => {
    platform = await startPlatform({ messagesAccountCacheTtlMs: 0 });
    owner = await registerTestAccount(platform, freshNumber());
    other = await registerTestAccount(platform, freshNumber());
    carol = await registerTestAccount(platform, freshNumber());
    linked = await linkTestDevice(platform, owner);
    removable = await linkTestDevice(platform, owner);
    const params = await serverPublicParams(platform);
    groupUsers = {
      owner: await GroupUser.create(platform, owner, params),
      other: await GroupUser.create(platform, other, params),
      linked: await GroupUser.create(platform, { ...owner, token: linked.token }, params),
    };
    group = GroupSecretParams.generate();
    expectData(
      await groupUsers.owner.request(CREATE_GROUP, {
        auth: groupUsers.owner.auth(group),
        group: groupState(groupUsers.owner, group),
      }),
      'createGroup',
    );
    sessionId = (await sessionWithCode()).id;
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('has an entry for every root field of the supergraph, and none for fields it lacks', () => {
    const ids = FIELDS.map((field) => field.id);
    for (const id of ids) expect(matrix[id], `no expectation for ${id}`).toBeDefined();
    expect(Object.keys(matrix).filter((id) => !ids.includes(id))).toEqual([]);
  });

  const ordered = [...FIELDS].sort(
    (a, b) => Number(matrix[a.id]?.last ?? false) - Number(matrix[b.id]?.last ?? false),
  );
  for (const field of ordered) {
    it(`${field.id}`, async () => {
      const entry = matrix[field.id];
      if (!entry) throw new Error(`no expectation for ${field.id}`);
      const answers: Record<string, string> = {};
      for (const caller of CALLERS) answers[caller] = outcomeOf(await entry.run(caller));
      expect(answers).toEqual(entry.expect);
    });
  }

  it('the deleted accounts are gone for good', async () => {
    expect(outcomeOf(await gql('other', '{ me { aci } }'))).toBe('UNAUTHENTICATED');
    expect(outcomeOf(await gql('owner', '{ me { aci } }'))).toBe('UNAUTHENTICATED');
    expect(outcomeOf(await gql('linked', '{ me { aci } }'))).toBe('UNAUTHENTICATED');
  });
});
