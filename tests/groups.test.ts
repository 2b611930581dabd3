import { randomUUID } from 'node:crypto';
import { Aci, Pni } from '@signalapp/libsignal-client/dist/Address.js';
import {
  ClientZkAuthOperations,
  GroupSecretParams,
  ServerSecretParams,
  ServerZkAuthOperations,
  type ServerPublicParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { signal } from '@courier/proto';
import {
  PRE_KEY_BUNDLE_FIELDS,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  type Platform,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CREATE_GROUP,
  DAY_MS,
  GROUP_CHANGES,
  GroupUser,
  JOIN_INFO,
  b64,
  bytesOf,
  codeOf,
  decryptGroup,
  encryptText,
  random,
  serverPublicParams,
  verifiedChange,
  type GroupData,
} from './groups-support.ts';

const { Role } = signal.Member;
const { AccessRequired } = signal.AccessControl;
const MAX_MEMBERS = 6;
const MAX_INPUT_BYTES = 64 * 1024;

const BUNDLE = `mutation ($id: String!, $access: KeyAccess) {
  preKeyBundle(serviceId: $id, access: $access) { ${PRE_KEY_BUNDLE_FIELDS} } }`;

describe('groups through the gateway (zkgroup credentials, real libsignal clients)', () => {
  let platform: Platform;
  let params: ServerPublicParams;
  let numbers = 0;
  const user = async () =>
    GroupUser.create(
      platform,
      await registerTestAccount(platform, `+1415557${String(1000 + numbers++).padStart(4, '0')}`),
      params,
    );

  /** Creates a group of `admin` (administrator) and `members` with a title. */
  const createGroup = async (
    admin: GroupUser,
    members: GroupUser[],
    overrides: Partial<signal.Group.$Properties> = {},
    secret = GroupSecretParams.generate(),
  ) => {
    const group = signal.Group.encode({
      publicKey: secret.getPublicParams().serialize(),
      version: 0,
      title: encryptText(secret, 'Hiking club'),
      description: encryptText(secret, 'Sundays, weather permitting'),
      accessControl: {
        attributes: AccessRequired.MEMBER,
        members: AccessRequired.ADMINISTRATOR,
        addFromInviteLink: AccessRequired.UNSATISFIABLE,
      },
      members: [
        { role: Role.ADMINISTRATOR, presentation: admin.presentation(secret) },
        ...members.map((member) => ({
          role: Role.DEFAULT,
          presentation: member.presentation(secret),
        })),
      ],
      ...overrides,
    }).finish();
    const response = await admin.request<{ createGroup: GroupData }>(CREATE_GROUP, {
      auth: admin.auth(secret),
      group: b64(group),
    });
    return { secret, response, input: group };
  };

  const versionOf = async (member: GroupUser, secret: GroupSecretParams) =>
    (await member.read(secret)).body.data?.group.version;

  const storedRows = async () => ({
    groups: await platform.runtime.prisma.group.findMany(),
    changes: await platform.runtime.prisma.groupChangeRecord.findMany(),
  });

  beforeAll(async () => {
    platform = await startPlatform({
      groupLimits: { maxMembers: MAX_MEMBERS, maxInputBytes: MAX_INPUT_BYTES },
    });
    params = await serverPublicParams(platform);
  });
  afterAll(async () => {
    await platform?.stop();
  });

  describe('a group of A, B and C', () => {
    let a: GroupUser, b: GroupUser, c: GroupUser, d: GroupUser, e: GroupUser, f: GroupUser;
    let secret: GroupSecretParams;

    beforeAll(async () => {
      [a, b, c, d, e, f] = [
        await user(),
        await user(),
        await user(),
        await user(),
        await user(),
        await user(),
      ];
      const created = await createGroup(a, [b, c]);
      expect(created.response.body.errors).toBeUndefined();
      secret = created.secret;
    });

    it('B reads the state and decrypts title, members and profile keys', async () => {
      const { body } = await b.read(secret);
      const data = body.data!.group;
      expect(data.version).toBe(0);
      const state = decryptGroup(secret, bytesOf(data.state));
      expect(state.title).toBe('Hiking club');
      expect(state.description).toBe('Sundays, weather permitting');
      expect(state.members.map((m) => [m.aci, m.role])).toEqual([
        [a.account.aci, Role.ADMINISTRATOR],
        [b.account.aci, Role.DEFAULT],
        [c.account.aci, Role.DEFAULT],
      ]);
      expect(state.members.map((m) => b64(m.profileKey))).toEqual(
        [a, b, c].map((u) => b64(u.profileKey.serialize())),
      );
      // Endorsements for every member, which B can receive and verify.
      const endorsements = b.endorsements(secret, data, [a.aci, b.aci, c.aci]);
      expect(endorsements.endorsements).toHaveLength(3);
      expect(endorsements.expiration.getTime() % DAY_MS).toBe(0);
      expect(endorsements.expiration.getTime() - Date.now()).toBeGreaterThan(6 * 3_600_000);
    });

    it('an administrator adds D and removes C; C can no longer read or modify', async () => {
      const { body } = await a.modify(secret, {
        version: 1,
        addMembers: [{ added: { role: Role.DEFAULT, presentation: d.presentation(secret) } }],
        deleteMembers: [{ deletedUserId: c.userId(secret) }],
      });
      const result = body.data!.modifyGroup;
      expect(result.version).toBe(1);
      const actions = verifiedChange(params, bytesOf(result.change));
      expect(actions.version).toBe(1);
      expect(b64(actions.sourceUuid)).toBe(b64(a.userId(secret)));
      expect(actions.addMembers[0]!.added!.presentation).toHaveLength(0);
      const state = decryptGroup(secret, bytesOf(result.group!.state));
      expect(state.members.map((m) => m.aci)).toEqual([
        a.account.aci,
        b.account.aci,
        d.account.aci,
      ]);
      expect(state.members[2]!.joinedAt).toBe(1);

      expect(codeOf((await c.read(secret)).body)).toBe('FORBIDDEN');
      // Not even the version leaks to a non-member: a wrong one is FORBIDDEN too, not CONFLICT.
      expect(codeOf((await c.modify(secret, { version: 9, modifyTitle: {} })).body)).toBe(
        'FORBIDDEN',
      );
      expect(
        codeOf(
          (
            await c.modify(secret, {
              version: 2,
              modifyTitle: { title: encryptText(secret, 'mine') },
            })
          ).body,
        ),
      ).toBe('FORBIDDEN');
      expect(codeOf((await c.request(GROUP_CHANGES, { auth: c.auth(secret), from: 0 })).body)).toBe(
        'FORBIDDEN',
      );
      expect((await d.read(secret)).body.data?.group.version).toBe(1);
    });

    it("refuses a non-administrator's forbidden changes and changes nothing", async () => {
      const refused = [
        { addMembers: [{ added: { role: Role.DEFAULT, presentation: c.presentation(secret) } }] },
        { modifyMemberRoles: [{ userId: b.userId(secret), role: Role.ADMINISTRATOR }] },
        { deleteMembers: [{ deletedUserId: d.userId(secret) }] },
        { modifyAttributesAccess: { attributesAccess: AccessRequired.ADMINISTRATOR } },
        { modifyInviteLinkPassword: { inviteLinkPassword: random(16) } },
        { modifyAnnouncementsOnly: { announcementsOnly: true } },
      ];
      for (const actions of refused) {
        expect(codeOf((await b.modify(secret, { version: 2, ...actions })).body)).toBe('FORBIDDEN');
      }
      expect(await versionOf(a, secret)).toBe(1);
      // Attributes are open to members: B may retitle.
      const { body } = await b.modify(secret, {
        version: 2,
        modifyTitle: { title: encryptText(secret, 'Hiking & climbing club') },
      });
      expect(body.data?.modifyGroup.version).toBe(2);
    });

    it('access-control changes take effect', async () => {
      const closed = await a.modify(secret, {
        version: 3,
        modifyAttributesAccess: { attributesAccess: AccessRequired.ADMINISTRATOR },
        modifyMemberAccess: { membersAccess: AccessRequired.MEMBER },
      });
      expect(closed.body.data?.modifyGroup.version).toBe(3);
      const retitle = { version: 4, modifyTitle: { title: encryptText(secret, 'B was here') } };
      expect(codeOf((await b.modify(secret, retitle)).body)).toBe('FORBIDDEN');
      // Members may now invite: B invites E by ACI.
      const invited = await b.modify(secret, {
        version: 4,
        addPendingMembers: [
          { added: { member: { userId: e.userId(secret), role: Role.DEFAULT } } },
        ],
      });
      expect(invited.body.data?.modifyGroup.version).toBe(4);
      // E (invited) sees the group, without endorsements, and accepts with its profile key.
      const seen = await e.read(secret);
      expect(seen.body.data?.group.groupSendEndorsements).toBeNull();
      expect(decryptGroup(secret, bytesOf(seen.body.data!.group.state)).pending).toEqual([
        { serviceId: e.account.aci, role: Role.DEFAULT },
      ]);
      const accepted = await e.modify(secret, {
        version: 5,
        promotePendingMembers: [{ presentation: e.presentation(secret) }],
      });
      const state = decryptGroup(secret, bytesOf(accepted.body.data!.modifyGroup.group!.state));
      expect(state.pending).toEqual([]);
      expect(state.members.at(-1)).toMatchObject({ aci: e.account.aci, joinedAt: 5 });
    });

    it('joins with the invite link after an administrator approves', async () => {
      const password = random(16);
      const opened = await a.modify(secret, {
        version: 6,
        modifyInviteLinkPassword: { inviteLinkPassword: password },
        modifyAddFromInviteLinkAccess: { addFromInviteLinkAccess: AccessRequired.ADMINISTRATOR },
      });
      expect(opened.body.data?.modifyGroup.version).toBe(6);
      const info = await f.request<{
        groupJoinInfo: {
          memberCount: number;
          addFromInviteLink: string;
          title: string;
          pendingAdminApproval: boolean;
        };
      }>(JOIN_INFO, { auth: f.auth(secret), password: b64(password) });
      expect(info.body.data?.groupJoinInfo).toMatchObject({
        memberCount: 4,
        addFromInviteLink: 'ADMINISTRATOR',
        pendingAdminApproval: false,
      });
      expect(
        decryptGroup(
          secret,
          signal.Group.encode({ title: bytesOf(info.body.data!.groupJoinInfo.title) }).finish(),
        ).title,
      ).toBe('Hiking & climbing club');
      // A wrong password shows nothing; joining at once is not allowed by this link.
      expect(
        codeOf(
          (await f.request(JOIN_INFO, { auth: f.auth(secret), password: b64(random(16)) })).body,
        ),
      ).toBe('FORBIDDEN');
      const join = {
        version: 7,
        addMembers: [
          {
            added: { role: Role.DEFAULT, presentation: f.presentation(secret) },
            joinFromInviteLink: true,
          },
        ],
      };
      expect(codeOf((await f.modify(secret, join, password)).body)).toBe('FORBIDDEN');
      const request = {
        version: 7,
        addMembersPendingAdminApproval: [{ added: { presentation: f.presentation(secret) } }],
      };
      expect(codeOf((await f.modify(secret, request, random(16))).body)).toBe('FORBIDDEN');
      const requested = await f.modify(secret, request, password);
      expect(requested.body.data?.modifyGroup).toMatchObject({ version: 7, group: null });
      expect(codeOf((await f.read(secret)).body)).toBe('FORBIDDEN');
      const waiting = await f.request<{ groupJoinInfo: { pendingAdminApproval: boolean } }>(
        JOIN_INFO,
        { auth: f.auth(secret) },
      );
      expect(waiting.body.data?.groupJoinInfo.pendingAdminApproval).toBe(true);
      // B (not an administrator) cannot approve; A does.
      const approve = {
        version: 8,
        promoteMembersPendingAdminApproval: [{ userId: f.userId(secret), role: Role.DEFAULT }],
      };
      expect(codeOf((await b.modify(secret, approve)).body)).toBe('FORBIDDEN');
      expect((await a.modify(secret, approve)).body.data?.modifyGroup.version).toBe(8);
      const state = decryptGroup(secret, bytesOf((await f.read(secret)).body.data!.group.state));
      expect(state.members.map((m) => m.aci)).toContain(f.account.aci);
      expect(state.requesting).toEqual([]);
    });

    it('joins at once with an ANY invite link: removed C comes back', async () => {
      const password = random(16);
      expect(
        (
          await a.modify(secret, {
            version: 9,
            modifyInviteLinkPassword: { inviteLinkPassword: password },
            modifyAddFromInviteLinkAccess: { addFromInviteLinkAccess: AccessRequired.ANY },
          })
        ).body.data?.modifyGroup.version,
      ).toBe(9);
      const join = (role: signal.Member.Role) => ({
        version: 10,
        addMembers: [
          { added: { role, presentation: c.presentation(secret) }, joinFromInviteLink: true },
        ],
      });
      // Joining with the link gives the DEFAULT role only.
      expect(codeOf((await c.modify(secret, join(Role.ADMINISTRATOR), password)).body)).toBe(
        'FORBIDDEN',
      );
      const joined = await c.modify(secret, join(Role.DEFAULT), password);
      const state = decryptGroup(secret, bytesOf(joined.body.data!.modifyGroup.group!.state));
      expect(state.members.find((m) => m.aci === c.account.aci)).toMatchObject({
        role: Role.DEFAULT,
        joinedAt: 10,
      });
      expect(joined.body.data!.modifyGroup.group!.groupSendEndorsements).not.toBeNull();
    });

    it('pages the signed change log from the version a member joined at', async () => {
      const page = await a.request<{
        groupChanges: {
          changes: { version: number; change: string }[];
          currentVersion: number;
          hasMore: boolean;
          group: GroupData | null;
        };
      }>(GROUP_CHANGES, { auth: a.auth(secret), from: 0, limit: 3 });
      const first = page.body.data!.groupChanges;
      expect(first.changes.map((entry) => entry.version)).toEqual([0, 1, 2]);
      expect(first).toMatchObject({ currentVersion: 10, hasMore: true, group: null });
      const creation = verifiedChange(params, bytesOf(first.changes[0]!.change));
      expect(creation.addMembers).toHaveLength(3);
      const rest = await a.request<{
        groupChanges: {
          changes: { version: number; change: string }[];
          hasMore: boolean;
          group: GroupData | null;
        };
      }>(GROUP_CHANGES, { auth: a.auth(secret), from: 3 });
      const last = rest.body.data!.groupChanges;
      expect(last.changes.map((entry) => entry.version)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
      for (const entry of last.changes) verifiedChange(params, bytesOf(entry.change));
      expect(last.hasMore).toBe(false);
      expect(last.group?.version).toBe(10);
      // D joined at version 1: earlier changes are not D's to read. Pages are at most 64.
      expect(codeOf((await d.request(GROUP_CHANGES, { auth: d.auth(secret), from: 0 })).body)).toBe(
        'FORBIDDEN',
      );
      expect(
        (await d.request(GROUP_CHANGES, { auth: d.auth(secret), from: 1 })).body.errors,
      ).toBeUndefined();
      expect(
        codeOf((await a.request(GROUP_CHANGES, { auth: a.auth(secret), from: 0, limit: 65 })).body),
      ).toBe('BAD_USER_INPUT');
    });

    it('keys accepts a group send token for a member and refuses it for anyone else', async () => {
      const data = (await a.read(secret)).body.data!.group;
      const state = decryptGroup(secret, bytesOf(data.state));
      const members = state.members.map((m) => Aci.parseFromServiceIdString(m.aci));
      const received = a.endorsements(secret, data, members);
      const bIndex = members.findIndex((m) => m.getServiceIdString() === b.account.aci);
      const token = received.endorsements[bIndex]!.toFullToken(
        secret,
        received.expiration,
      ).serialize();
      const bundle = await postGraphQL<{ preKeyBundle: { devices: unknown[] } }>(
        platform.gatewayUrl,
        BUNDLE,
        {
          variables: { id: b.account.aci, access: { groupSendToken: b64(token) } },
        },
      );
      expect(bundle.body.errors).toBeUndefined();
      expect(bundle.body.data?.preKeyBundle.devices).toHaveLength(1);
      // The token endorses B only: not C (removed), not D.
      for (const other of [c, d]) {
        const refused = await postGraphQL(platform.gatewayUrl, BUNDLE, {
          variables: { id: other.account.aci, access: { groupSendToken: b64(token) } },
        });
        expect(codeOf(refused.body)).toBe('FORBIDDEN');
      }
      const garbage = await postGraphQL(platform.gatewayUrl, BUNDLE, {
        variables: { id: b.account.aci, access: { groupSendToken: b64(random(3)) } },
      });
      expect(codeOf(garbage.body)).toBe('UNAUTHENTICATED');
      const both = await postGraphQL(platform.gatewayUrl, BUNDLE, {
        variables: {
          id: b.account.aci,
          access: {
            groupSendToken: b64(token),
            unidentifiedAccessKey: b64(b.account.unidentifiedAccessKey),
          },
        },
      });
      expect(codeOf(both.body)).toBe('BAD_USER_INPUT');
    });

    it('the database holds no plaintext service id, profile key, title or description', async () => {
      const rows = await storedRows();
      expect(rows.groups.length).toBeGreaterThan(0);
      expect(rows.changes.length).toBeGreaterThan(8);
      const blobs = [
        ...rows.groups.flatMap((row) => [Buffer.from(row.id), Buffer.from(row.state)]),
        ...rows.changes.map((row) => Buffer.from(row.change)),
      ];
      const secrets: Buffer[] = [];
      for (const member of [a, b, c, d, e, f]) {
        secrets.push(
          Buffer.from(member.account.aci),
          Buffer.from(member.account.pni),
          Buffer.from(member.aci.getRawUuidBytes()),
          Buffer.from(member.pni.getRawUuidBytes()),
          Buffer.from(member.aci.getServiceIdBinary()),
          Buffer.from(member.pni.getServiceIdBinary()),
          Buffer.from(member.profileKey.serialize()),
          Buffer.from(member.account.number),
        );
      }
      for (const text of ['Hiking club', 'Hiking & climbing club', 'Sundays, weather permitting']) {
        secrets.push(Buffer.from(text));
      }
      for (const blob of blobs) {
        for (const secret of secrets) expect(blob.includes(secret)).toBe(false);
      }
      // Every column of the schema, as text too.
      const dump = await platform.runtime.prisma.$queryRawUnsafe<{ text: string }[]>(
        `SELECT row_to_json(g)::text AS text FROM groups.groups g
         UNION ALL SELECT row_to_json(c)::text FROM groups.group_changes c`,
      );
      for (const { text } of dump) {
        for (const member of [a, b, c, d, e, f]) {
          expect(text).not.toContain(member.account.aci);
          expect(text).not.toContain(member.account.pni);
        }
      }
    });
  });

  describe('bad input and races', () => {
    let a: GroupUser, b: GroupUser;
    let secret: GroupSecretParams;

    beforeAll(async () => {
      [a, b] = [await user(), await user()];
      const created = await createGroup(a, [b]);
      expect(created.response.body.errors).toBeUndefined();
      secret = created.secret;
    });

    it('refuses forged presentations and wrong group params with UNAUTHENTICATED', async () => {
      const other = GroupSecretParams.generate();
      const wrongParams = {
        ...a.auth(other),
        publicParams: b64(secret.getPublicParams().serialize()),
      };
      const forged = { ...a.auth(secret), presentation: b64(random(300)) };
      // A credential issued by another server's params, presented properly.
      const otherServer = ServerSecretParams.generate();
      const redemption = Math.floor(Date.now() / DAY_MS) * 86_400;
      const foreignCredential = new ClientZkAuthOperations(
        otherServer.getPublicParams(),
      ).receiveAuthCredentialWithPniAsServiceId(
        a.aci,
        a.pni,
        redemption,
        new ServerZkAuthOperations(otherServer).issueAuthCredentialWithPniZkc(
          a.aci,
          a.pni,
          redemption,
        ),
      );
      const foreign = new GroupUser(
        platform,
        a.account,
        otherServer.getPublicParams(),
        a.profileKey,
        a.profileCredential,
        foreignCredential,
      );
      const tampered = bytesOf(a.auth(secret).presentation);
      tampered[tampered.length - 5]! ^= 1;
      for (const auth of [
        wrongParams,
        forged,
        foreign.auth(secret),
        { ...a.auth(secret), presentation: b64(tampered) },
      ]) {
        expect(codeOf((await a.request(CREATE_GROUP, { auth, group: b64(random(4)) })).body)).toBe(
          'UNAUTHENTICATED',
        );
        expect(
          codeOf(
            (
              await a.request(`query ($auth: GroupAuth!) { group(auth: $auth) { version } }`, {
                auth,
              })
            ).body,
          ),
        ).toBe('UNAUTHENTICATED');
      }
      const badParams = { ...a.auth(secret), publicParams: b64(random(10)) };
      expect(
        codeOf(
          (
            await a.request(`query ($auth: GroupAuth!) { group(auth: $auth) { version } }`, {
              auth: badParams,
            })
          ).body,
        ),
      ).toBe('BAD_USER_INPUT');
      expect(await versionOf(a, secret)).toBe(0);
    });

    it('refuses forged profile key presentations, stale versions, oversize fields and bad protobufs', async () => {
      const cases: Array<[signal.GroupChange.Actions.$Properties, string]> = [
        [
          {
            version: 1,
            addMembers: [{ added: { role: Role.DEFAULT, presentation: random(400) } }],
          },
          'BAD_USER_INPUT',
        ],
        [
          {
            version: 1,
            addMembers: [
              {
                added: {
                  role: Role.DEFAULT,
                  presentation: b.presentation(GroupSecretParams.generate()),
                },
              },
            ],
          },
          'BAD_USER_INPUT',
        ],
        [{ version: 0, modifyTitle: { title: encryptText(secret, 'stale') } }, 'CONFLICT'],
        [{ version: 5, modifyTitle: { title: encryptText(secret, 'future') } }, 'CONFLICT'],
        [{ version: 1, modifyTitle: { title: random(1025) } }, 'BAD_USER_INPUT'],
        [{ version: 1, modifyDescription: { description: random(8193) } }, 'BAD_USER_INPUT'],
        [{ version: 1, modifyDisappearingMessagesTimer: { timer: random(257) } }, 'BAD_USER_INPUT'],
        [{ version: 1, modifyAvatar: { avatar: 'x'.repeat(257) } }, 'BAD_USER_INPUT'],
        [
          { version: 1, modifyInviteLinkPassword: { inviteLinkPassword: random(5) } },
          'BAD_USER_INPUT',
        ],
        [
          {
            version: 1,
            addPendingMembers: [{ added: { member: { userId: random(12), role: Role.DEFAULT } } }],
          },
          'BAD_USER_INPUT',
        ],
        [
          { version: 1, modifyMemberRoles: [{ userId: b.userId(secret), role: Role.UNKNOWN }] },
          'BAD_USER_INPUT',
        ],
        [{ version: 1 }, 'BAD_USER_INPUT'],
        // Valid first action, bad second: nothing of it lands.
        [
          {
            version: 1,
            modifyTitle: { title: encryptText(secret, 'ok') },
            modifyDescription: { description: random(9000) },
          },
          'BAD_USER_INPUT',
        ],
      ];
      for (const [actions, code] of cases) {
        const { body } = await a.modify(secret, actions);
        expect([JSON.stringify(Object.keys(actions)), codeOf(body)]).toEqual([
          JSON.stringify(Object.keys(actions)),
          code,
        ]);
      }
      const garbage = await a.request(
        `mutation ($auth: GroupAuth!, $actions: Base64!) { modifyGroup(auth: $auth, actions: $actions) { version } }`,
        { auth: a.auth(secret), actions: b64(new Uint8Array([0xff, 0xff, 0xff])) },
      );
      expect(codeOf(garbage.body)).toBe('BAD_USER_INPUT');
      const state = decryptGroup(secret, bytesOf((await a.read(secret)).body.data!.group.state));
      expect(state).toMatchObject({ version: 0, title: 'Hiking club' });
      expect(
        await platform.runtime.prisma.groupChangeRecord.count({
          where: {
            groupId: Buffer.from(secret.getPublicParams().getGroupIdentifier().serialize()),
          },
        }),
      ).toBe(1);
    });

    it('refuses bad new groups: wrong params, not an administrator, duplicates, existing params', async () => {
      const secret2 = GroupSecretParams.generate();
      const base = {
        publicKey: secret2.getPublicParams().serialize(),
        accessControl: {
          attributes: AccessRequired.MEMBER,
          members: AccessRequired.MEMBER,
          addFromInviteLink: AccessRequired.UNSATISFIABLE,
        },
      };
      const attempts: Array<[signal.Group.$Properties, string]> = [
        [
          {
            ...base,
            publicKey: secret.getPublicParams().serialize(),
            members: [{ role: Role.ADMINISTRATOR, presentation: a.presentation(secret2) }],
          },
          'BAD_USER_INPUT',
        ],
        [
          { ...base, members: [{ role: Role.DEFAULT, presentation: a.presentation(secret2) }] },
          'FORBIDDEN',
        ],
        [
          {
            ...base,
            members: [{ role: Role.ADMINISTRATOR, presentation: b.presentation(secret2) }],
          },
          'FORBIDDEN',
        ],
        [
          {
            ...base,
            members: [
              { role: Role.ADMINISTRATOR, presentation: a.presentation(secret2) },
              { role: Role.DEFAULT, presentation: a.presentation(secret2) },
            ],
          },
          'BAD_USER_INPUT',
        ],
        [
          {
            ...base,
            accessControl: {},
            members: [{ role: Role.ADMINISTRATOR, presentation: a.presentation(secret2) }],
          },
          'BAD_USER_INPUT',
        ],
        [
          {
            ...base,
            version: 3,
            members: [{ role: Role.ADMINISTRATOR, presentation: a.presentation(secret2) }],
          },
          'BAD_USER_INPUT',
        ],
        [
          {
            ...base,
            title: random(2000),
            members: [{ role: Role.ADMINISTRATOR, presentation: a.presentation(secret2) }],
          },
          'BAD_USER_INPUT',
        ],
      ];
      for (const [group, code] of attempts) {
        const { body } = await a.request(CREATE_GROUP, {
          auth: a.auth(secret2),
          group: b64(signal.Group.encode(group).finish()),
        });
        expect(codeOf(body)).toBe(code);
      }
      expect(
        await platform.runtime.prisma.group.count({
          where: { id: Buffer.from(secret2.getPublicParams().getGroupIdentifier().serialize()) },
        }),
      ).toBe(0);
      const again = await a.request(CREATE_GROUP, {
        auth: a.auth(secret),
        group: b64(
          signal.Group.encode({
            ...base,
            publicKey: secret.getPublicParams().serialize(),
            members: [{ role: Role.ADMINISTRATOR, presentation: a.presentation(secret) }],
          }).finish(),
        ),
      });
      expect(codeOf(again.body)).toBe('CONFLICT');
    });

    it('enforces the member limit on creation and on change', async () => {
      const secret3 = GroupSecretParams.generate();
      const pendingFor = (count: number, s: GroupSecretParams) =>
        Array.from({ length: count }, () => ({
          member: { userId: a.userId(s, Pni.fromUuid(randomUUID())), role: Role.DEFAULT },
        }));
      const tooMany = await createGroup(
        a,
        [],
        { membersPendingProfileKey: pendingFor(MAX_MEMBERS, secret3) },
        secret3,
      );
      expect(codeOf(tooMany.response.body)).toBe('BAD_USER_INPUT');
      const full = await createGroup(a, [b], {});
      expect(full.response.body.errors).toBeUndefined();
      const fill = await a.modify(full.secret, {
        version: 1,
        addPendingMembers: pendingFor(MAX_MEMBERS - 2, full.secret).map((added) => ({ added })),
      });
      expect(fill.body.data?.modifyGroup.version).toBe(1);
      const over = await a.modify(full.secret, {
        version: 2,
        addPendingMembers: [{ added: pendingFor(1, full.secret)[0]! }],
      });
      expect(codeOf(over.body)).toBe('BAD_USER_INPUT');
      expect(await versionOf(a, full.secret)).toBe(1);
    });

    it('refuses group and actions inputs over the size limit and changes nothing', async () => {
      const before = await versionOf(a, secret);
      const over = await a.modify(secret, {
        version: before! + 1,
        modifyDescription: { description: random(MAX_INPUT_BYTES) },
      });
      expect(codeOf(over.body)).toBe('PAYLOAD_TOO_LARGE');
      expect(await versionOf(a, secret)).toBe(before);
      const big = await createGroup(a, [], { description: random(MAX_INPUT_BYTES) });
      expect(codeOf(big.response.body)).toBe('PAYLOAD_TOO_LARGE');
    });

    it('a member leaves: no state, no endorsements, no access afterwards', async () => {
      const leaver = await user();
      const group = await createGroup(a, [leaver]);
      const left = await leaver.modify(group.secret, {
        version: 1,
        deleteMembers: [{ deletedUserId: leaver.userId(group.secret) }],
      });
      expect(left.body.data?.modifyGroup).toMatchObject({ version: 1, group: null });
      verifiedChange(params, bytesOf(left.body.data!.modifyGroup.change));
      expect(codeOf((await leaver.read(group.secret)).body)).toBe('FORBIDDEN');
      const state = decryptGroup(
        group.secret,
        bytesOf((await a.read(group.secret)).body.data!.group.state),
      );
      expect(state.members.map((m) => m.aci)).toEqual([a.account.aci]);
    });

    it('issues auth credentials for at most a week from today, to accounts only', async () => {
      const today = Math.floor(Date.now() / DAY_MS);
      const query = `query ($from: Int!, $to: Int!) { groupAuthCredentials(fromDay: $from, toDay: $to) {
        credentials { day redemptionTime } } }`;
      const ok = await postGraphQL<{
        groupAuthCredentials: { credentials: { day: number; redemptionTime: number }[] };
      }>(platform.gatewayUrl, query, {
        token: a.account.token,
        variables: { from: today, to: today + 7 },
      });
      expect(
        ok.body.data?.groupAuthCredentials.credentials.map((c) => [c.day, c.redemptionTime]),
      ).toEqual(Array.from({ length: 8 }, (_, i) => [today + i, (today + i) * DAY_MS]));
      for (const [from, to] of [
        [today, today + 8],
        [today - 3, today],
        [today + 2, today + 1],
      ]) {
        const refused = await postGraphQL(platform.gatewayUrl, query, {
          token: a.account.token,
          variables: { from, to },
        });
        expect(codeOf(refused.body)).toBe('BAD_USER_INPUT');
      }
      const anonymous = await postGraphQL(platform.gatewayUrl, query, {
        variables: { from: today, to: today },
      });
      expect(codeOf(anonymous.body)).toBe('UNAUTHENTICATED');
    });

    it('concurrent changes at one version: exactly one lands, the other is CONFLICT', async () => {
      const before = await versionOf(a, secret);
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          (i % 2 === 0 ? a : b).modify(secret, {
            version: before! + 1,
            modifyTitle: { title: encryptText(secret, `title ${i}`) },
          }),
        ),
      );
      const codes = results.map((r) => codeOf(r.body) ?? 'OK').sort();
      expect(codes).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT', 'OK']);
      expect(await versionOf(a, secret)).toBe(before! + 1);
      const changes = await platform.runtime.prisma.groupChangeRecord.findMany({
        where: { groupId: Buffer.from(secret.getPublicParams().getGroupIdentifier().serialize()) },
      });
      expect(changes.map((c) => c.version).sort()).toEqual([0, before! + 1]);
    });
  });
});
