import { signal } from '@courier/proto';
import { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import {
  ClientZkGroupCipher,
  GroupSecretParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GROUP_LIMITS } from './group-limits.ts';
import { Access, Role, decodeGroup, encodeGroup, type GroupModel } from './group-model.ts';
import {
  applyActions,
  checkNewGroup,
  creationActions,
  holdsInviteLink,
  type Presenter,
  type RuleContext,
} from './group-rules.ts';

const secret = GroupSecretParams.generate();
const cipher = new ClientZkGroupCipher(secret);
const publicKey = Buffer.from(secret.getPublicParams().serialize());

/** A person: real ACI/PNI ciphertexts; their "presentation" here is userId ‖ profileKey. */
function person(): Presenter & { presentation: Uint8Array; profileKey: Buffer } {
  const aci = Buffer.from(cipher.encryptServiceId(Aci.fromUuid(randomUUID())).serialize());
  const pni = Buffer.from(cipher.encryptServiceId(Aci.fromUuid(randomUUID())).serialize());
  const profileKey = Buffer.alloc(65, aci[10]);
  return { aci, pni, profileKey, presentation: Buffer.concat([aci, profileKey]) };
}

const context: RuleContext = {
  limits: { ...DEFAULT_GROUP_LIMITS, maxMembers: 5 },
  now: 1_700_000_000_000,
  proveMember: (presentation) => ({
    userId: Buffer.from(presentation.subarray(0, 65)),
    profileKey: Buffer.from(presentation.subarray(65)),
  }),
};

const [admin, member, outsider, invitee] = [person(), person(), person(), person()];

function newGroup(): GroupModel {
  return checkNewGroup(
    signal.Group.create({
      publicKey,
      title: Buffer.from('title ciphertext'),
      accessControl: {
        attributes: Access.MEMBER,
        members: Access.ADMINISTRATOR,
        addFromInviteLink: Access.UNSATISFIABLE,
      },
      members: [
        { role: Role.ADMINISTRATOR, presentation: admin.presentation },
        { role: Role.DEFAULT, presentation: member.presentation },
      ],
      membersPendingProfileKey: [{ member: { userId: invitee.pni, role: Role.DEFAULT } }],
    }),
    publicKey,
    admin,
    context,
  );
}

const apply = (
  group: GroupModel,
  presenter: Presenter,
  actions: signal.GroupChange.Actions.$Properties,
  password: Uint8Array | null = null,
) => applyActions(group, signal.GroupChange.Actions.create(actions), presenter, context, password);

const codeOf = (run: () => unknown) => {
  try {
    run();
    return 'OK';
  } catch (error) {
    return (error as { extensions?: { code?: string } }).extensions?.code ?? String(error);
  }
};

describe('group rules', () => {
  it('creates version 0 with proven members, stamped invitees, and round-trips the state', () => {
    const group = newGroup();
    expect(group.members.map((m) => [m.userId, m.role, m.profileKey])).toEqual([
      [admin.aci, Role.ADMINISTRATOR, admin.profileKey],
      [member.aci, Role.DEFAULT, member.profileKey],
    ]);
    expect(group.pending[0]).toMatchObject({ addedByUserId: admin.aci, timestamp: context.now });
    expect(decodeGroup(encodeGroup(group))).toEqual(group);
    const creation = creationActions(group, admin);
    expect(creation.addMembers).toHaveLength(2);
    expect(creation.addPendingMembers).toHaveLength(1);
  });

  it('checks every action against roles and access control', () => {
    const title = { title: Buffer.from('x') };
    const cases: Array<[Presenter, signal.GroupChange.Actions.$Properties, string]> = [
      [member, { modifyTitle: title }, 'OK'],
      [outsider, { modifyTitle: title }, 'FORBIDDEN'],
      [
        member,
        { modifyMemberRoles: [{ userId: member.aci, role: Role.ADMINISTRATOR }] },
        'FORBIDDEN',
      ],
      [admin, { modifyMemberRoles: [{ userId: member.aci, role: Role.ADMINISTRATOR }] }, 'OK'],
      [member, { deleteMembers: [{ deletedUserId: admin.aci }] }, 'FORBIDDEN'],
      [member, { deleteMembers: [{ deletedUserId: member.aci }] }, 'OK'],
      [member, { deleteMembers: [{ deletedUserId: member.aci }], modifyTitle: title }, 'FORBIDDEN'],
      [
        member,
        { addMembers: [{ added: { role: Role.DEFAULT, presentation: outsider.presentation } }] },
        'FORBIDDEN',
      ],
      [
        admin,
        { addMembers: [{ added: { role: Role.DEFAULT, presentation: outsider.presentation } }] },
        'OK',
      ],
      [
        member,
        { modifyAddFromInviteLinkAccess: { addFromInviteLinkAccess: Access.ANY } },
        'FORBIDDEN',
      ],
      [
        admin,
        { modifyAddFromInviteLinkAccess: { addFromInviteLinkAccess: Access.MEMBER } },
        'BAD_USER_INPUT',
      ],
      [invitee, { promotePendingMembers: [{ presentation: invitee.presentation }] }, 'OK'],
      [invitee, { promotePendingMembers: [{ presentation: outsider.presentation }] }, 'FORBIDDEN'],
      [outsider, { deletePendingMembers: [{ deletedUserId: invitee.pni }] }, 'FORBIDDEN'],
      [invitee, { deletePendingMembers: [{ deletedUserId: invitee.pni }] }, 'OK'],
      [admin, {}, 'BAD_USER_INPUT'],
    ];
    for (const [presenter, actions, code] of cases) {
      const group = newGroup();
      expect([
        Object.keys(actions),
        codeOf(() => apply(group, presenter, { version: 1, ...actions })),
      ]).toEqual([Object.keys(actions), code]);
    }
  });

  it('conflicts on any version but the next, and joins only through a working invite link', () => {
    const group = newGroup();
    expect(codeOf(() => apply(group, admin, { version: 0, modifyTitle: {} }))).toBe('CONFLICT');
    expect(codeOf(() => apply(group, admin, { version: 2, modifyTitle: {} }))).toBe('CONFLICT');
    const password = Buffer.alloc(16, 7);
    apply(group, admin, {
      version: 1,
      modifyInviteLinkPassword: { inviteLinkPassword: password },
      modifyAddFromInviteLinkAccess: { addFromInviteLinkAccess: Access.ANY },
    });
    const join = {
      version: 2,
      addMembers: [
        {
          added: { role: Role.DEFAULT, presentation: outsider.presentation },
          joinFromInviteLink: true,
        },
      ],
    };
    expect(codeOf(() => apply(group, outsider, join, Buffer.alloc(16, 8)))).toBe('FORBIDDEN');
    expect(codeOf(() => apply(group, member, join, password))).toBe('FORBIDDEN');
    const applied = apply(group, outsider, join, password);
    expect(applied.addMembers[0]).toMatchObject({ joinFromInviteLink: true });
    expect(group.members.at(-1)).toMatchObject({ userId: outsider.aci, joinedAtVersion: 2 });
  });

  it('refuses groups over the member limit before checking presentations', () => {
    const group = newGroup();
    const invites = (count: number) =>
      Array.from({ length: count }, () => ({
        added: { member: { userId: person().aci, role: Role.DEFAULT } },
      }));
    expect(codeOf(() => apply(group, admin, { version: 1, addPendingMembers: invites(3) }))).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      codeOf(() => apply(newGroup(), admin, { version: 1, addPendingMembers: invites(2) })),
    ).toBe('OK');
    let proofs = 0;
    const counting: RuleContext = {
      ...context,
      proveMember: (presentation, field) => {
        proofs++;
        return context.proveMember(presentation, field);
      },
    };
    const six = Array.from({ length: 6 }, () => person());
    const oversize = signal.Group.create({
      publicKey,
      accessControl: {
        attributes: Access.MEMBER,
        members: Access.MEMBER,
        addFromInviteLink: Access.UNSATISFIABLE,
      },
      members: six.map((p) => ({ role: Role.ADMINISTRATOR, presentation: p.presentation })),
    });
    expect(codeOf(() => checkNewGroup(oversize, publicKey, six[0]!, counting))).toBe(
      'BAD_USER_INPUT',
    );
    expect(proofs).toBe(0);
  });

  it('caps requests to join at the member limit', () => {
    const group = newGroup();
    const password = Buffer.alloc(16, 9);
    apply(group, admin, {
      version: 1,
      modifyInviteLinkPassword: { inviteLinkPassword: password },
      modifyAddFromInviteLinkAccess: { addFromInviteLinkAccess: Access.ADMINISTRATOR },
    });
    const ask = (version: number) => {
      const asker = person();
      const actions = {
        version,
        addMembersPendingAdminApproval: [{ added: { presentation: asker.presentation } }],
      };
      return codeOf(() => apply(group, asker, actions, password));
    };
    for (let version = 2; version <= 6; version++) expect(ask(version)).toBe('OK');
    expect(group.requesting).toHaveLength(5);
    expect(ask(7)).toBe('BAD_USER_INPUT');
  });

  it('matches the invite link password only when one is set and equal', () => {
    const group = newGroup();
    expect(holdsInviteLink(group, null)).toBe(false);
    expect(holdsInviteLink(group, new Uint8Array(0))).toBe(false);
    const password = Buffer.alloc(16, 3);
    group.inviteLinkPassword = password;
    expect(holdsInviteLink(group, Buffer.from(password))).toBe(true);
    expect(holdsInviteLink(group, Buffer.alloc(16, 4))).toBe(false);
    expect(holdsInviteLink(group, password.subarray(0, 15))).toBe(false);
    expect(holdsInviteLink(group, null)).toBe(false);
  });
});
