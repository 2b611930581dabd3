import { timingSafeEqual } from 'node:crypto';
import { BadUserInputError, ConflictError, ForbiddenError } from '@courier/errors';
import { signal } from '@courier/proto';
import { UuidCiphertext } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import type { GroupLimits } from './group-limits.ts';
import {
  Access,
  Role,
  bytes,
  sameBytes,
  type AccessModel,
  type GroupModel,
  type MemberEntry,
} from './group-model.ts';

/** Size of a zkgroup `UuidCiphertext` and `ProfileKeyCiphertext`. */
export const CIPHERTEXT_BYTES = 65;
/** Size of an invite link password. */
export const INVITE_LINK_PASSWORD_BYTES = 16;

/** Who sends a request: the ACI and PNI ciphertexts of their auth credential presentation. */
export interface Presenter {
  readonly aci: Buffer;
  readonly pni: Buffer;
}

/** A member proven by a profile key credential presentation. */
export interface ProvenMember {
  readonly userId: Buffer;
  readonly profileKey: Buffer;
}

/** What the rules need besides the group: limits, clock and the presentation verifier. */
export interface RuleContext {
  readonly limits: GroupLimits;
  /** ms since the epoch. */
  readonly now: number;
  /**
   * Verifies a profile key credential presentation for this group and returns the user id
   * and profile key ciphertexts it proves.
   * @throws BadUserInputError naming `field` when it is malformed or does not verify.
   */
  readonly proveMember: (presentation: Uint8Array, field: string) => ProvenMember;
}

const ACTIONS = signal.GroupChange.Actions;

function checkUserId(userId: Uint8Array | null | undefined, field: string): Buffer {
  const value = bytes(userId);
  if (value.length !== CIPHERTEXT_BYTES) {
    throw new BadUserInputError(
      `${field} must be a ${CIPHERTEXT_BYTES}-byte UuidCiphertext`,
      field,
    );
  }
  try {
    new UuidCiphertext(new Uint8Array(value));
  } catch {
    throw new BadUserInputError(`${field} is not a UuidCiphertext`, field);
  }
  return value;
}

function checkRole(role: Role | null | undefined, field: string): Role {
  if (role !== Role.DEFAULT && role !== Role.ADMINISTRATOR) {
    throw new BadUserInputError(`${field} must be DEFAULT or ADMINISTRATOR`, field);
  }
  return role;
}

function checkMaxBytes(value: Uint8Array, max: number, field: string): void {
  if (value.length > max) {
    throw new BadUserInputError(`${field} may be at most ${max} bytes`, field);
  }
}

function checkAvatar(avatar: string, limits: GroupLimits, field: string): void {
  if (avatar.length > limits.maxAvatarLength || !/^[\x21-\x7e]*$/.test(avatar)) {
    throw new BadUserInputError(
      `${field} must be an attachment key of at most ${limits.maxAvatarLength} characters`,
      field,
    );
  }
}

function checkInviteLinkPassword(password: Buffer, field: string): void {
  if (password.length !== 0 && password.length !== INVITE_LINK_PASSWORD_BYTES) {
    throw new BadUserInputError(
      `${field} must be empty or ${INVITE_LINK_PASSWORD_BYTES} bytes`,
      field,
    );
  }
}

const MEMBER_ACCESS = new Set<Access>([Access.MEMBER, Access.ADMINISTRATOR]);
const LINK_ACCESS = new Set<Access>([Access.ANY, Access.ADMINISTRATOR, Access.UNSATISFIABLE]);

function checkAccess(
  value: Access | null | undefined,
  allowed: ReadonlySet<Access>,
  field: string,
): Access {
  if (value === null || value === undefined || !allowed.has(value)) {
    throw new BadUserInputError(
      `${field} must be one of ${[...allowed].map((a) => Access[a]).join(', ')}`,
      field,
    );
  }
  return value;
}

function checkAttributes(group: GroupModel, limits: GroupLimits, prefix: string): void {
  checkMaxBytes(group.title, limits.maxTitleBytes, `${prefix}title`);
  checkMaxBytes(group.description, limits.maxDescriptionBytes, `${prefix}description`);
  checkMaxBytes(
    group.disappearingMessagesTimer,
    limits.maxTimerBytes,
    `${prefix}disappearingMessagesTimer`,
  );
  checkAvatar(group.avatar, limits, `${prefix}avatar`);
}

function checkSize(
  group: {
    readonly members: readonly unknown[];
    readonly pending: readonly unknown[];
    readonly requesting: readonly unknown[];
  },
  limits: GroupLimits,
): void {
  if (group.members.length + group.pending.length > limits.maxMembers) {
    throw new BadUserInputError(
      `A group may have at most ${limits.maxMembers} members and invitees`,
      'members',
    );
  }
  if (group.requesting.length > limits.maxMembers) {
    throw new BadUserInputError(
      `A group may have at most ${limits.maxMembers} requests to join`,
      'membersPendingAdminApproval',
    );
  }
}

/** Whether a user id is anywhere in the group (member, invited or requesting). */
function isInGroup(group: GroupModel, userId: Buffer): boolean {
  return (
    group.members.some((m) => sameBytes(m.userId, userId)) ||
    group.pending.some((p) => sameBytes(p.userId, userId)) ||
    group.requesting.some((r) => sameBytes(r.userId, userId))
  );
}

/** The full member with this ACI ciphertext, if any. */
export function findMember(group: GroupModel, userId: Uint8Array): MemberEntry | undefined {
  return group.members.find((member) => sameBytes(member.userId, userId));
}

/** Whether the presenter is invited (by ACI or PNI). */
export function isPending(group: GroupModel, presenter: Presenter): boolean {
  return group.pending.some(
    (p) => sameBytes(p.userId, presenter.aci) || sameBytes(p.userId, presenter.pni),
  );
}

/** Whether the presenter asked to join and waits for approval. */
export function isRequesting(group: GroupModel, presenter: Presenter): boolean {
  return group.requesting.some((r) => sameBytes(r.userId, presenter.aci));
}

/**
 * Whether `password` is the group's invite link password (a group without one matches
 * nothing), compared in constant time: unlike the ciphertexts, the password is a secret.
 */
export function holdsInviteLink(group: GroupModel, password: Uint8Array | null): boolean {
  const given = bytes(password);
  const expected = group.inviteLinkPassword;
  return (
    expected.length > 0 && given.length === expected.length && timingSafeEqual(given, expected)
  );
}

function allows(required: Access, member: MemberEntry | undefined): boolean {
  if (!member) return false;
  if (required === Access.MEMBER) return true;
  if (required === Access.ADMINISTRATOR) return member.role === Role.ADMINISTRATOR;
  return false;
}

/**
 * Checks a new group as its creator sent it (`createGroup`) and returns the state to store at
 * version 0: members proven by profile key credential presentations (kept as the ciphertexts
 * they prove, the presentations dropped), the creator an administrator among them, invitees
 * stamped with the creator and the time, no join requests, valid access control and sizes.
 *
 * @throws BadUserInputError naming the field; ForbiddenError when the creator is not an
 * administrator member of the group they create.
 */
export function checkNewGroup(
  input: signal.Group,
  publicParams: Buffer,
  creator: Presenter,
  context: RuleContext,
): GroupModel {
  const { limits } = context;
  if (!sameBytes(bytes(input.publicKey), publicParams)) {
    throw new BadUserInputError('group.publicKey must be the params of auth', 'group.publicKey');
  }
  if (input.version !== 0) {
    throw new BadUserInputError('A new group starts at version 0', 'group.version');
  }
  if (input.membersPendingAdminApproval.length > 0) {
    throw new BadUserInputError(
      'A new group has no requests to join',
      'group.membersPendingAdminApproval',
    );
  }
  const access: AccessModel = {
    attributes: checkAccess(
      input.accessControl?.attributes,
      MEMBER_ACCESS,
      'group.accessControl.attributes',
    ),
    members: checkAccess(
      input.accessControl?.members,
      MEMBER_ACCESS,
      'group.accessControl.members',
    ),
    addFromInviteLink: checkAccess(
      input.accessControl?.addFromInviteLink,
      LINK_ACCESS,
      'group.accessControl.addFromInviteLink',
    ),
  };
  const group: GroupModel = {
    publicKey: publicParams,
    version: 0,
    title: bytes(input.title),
    description: bytes(input.description),
    avatar: input.avatar,
    disappearingMessagesTimer: bytes(input.disappearingMessagesTimer),
    access,
    members: [],
    pending: [],
    requesting: [],
    inviteLinkPassword: bytes(input.inviteLinkPassword),
    announcementsOnly: input.announcementsOnly,
  };
  checkAttributes(group, limits, 'group.');
  checkInviteLinkPassword(group.inviteLinkPassword, 'group.inviteLinkPassword');
  // Before any presentation is verified: an oversize group costs no proof checks.
  checkSize(
    { members: input.members, pending: input.membersPendingProfileKey, requesting: [] },
    limits,
  );
  input.members.forEach((member, i) => {
    const field = `group.members[${i}]`;
    const role = checkRole(member.role, `${field}.role`);
    const proven = context.proveMember(bytes(member.presentation), `${field}.presentation`);
    if (isInGroup(group, proven.userId)) {
      throw new BadUserInputError(`${field} is in the group twice`, field);
    }
    group.members.push({ ...proven, role, joinedAtVersion: 0 });
  });
  input.membersPendingProfileKey.forEach((pending, i) => {
    const field = `group.membersPendingProfileKey[${i}]`;
    const userId = checkUserId(pending.member?.userId, `${field}.member.userId`);
    const role = checkRole(pending.member?.role, `${field}.member.role`);
    if (isInGroup(group, userId)) {
      throw new BadUserInputError(`${field} is in the group twice`, field);
    }
    group.pending.push({ userId, role, addedByUserId: creator.aci, timestamp: context.now });
  });
  const self = findMember(group, creator.aci);
  if (!self || self.role !== Role.ADMINISTRATOR) {
    throw new ForbiddenError('The creator must be an administrator member of the group');
  }
  checkSize(group, limits);
  return group;
}

/**
 * The change that records a group's creation (version 0 in its change log): every member,
 * invitee and attribute as actions, so the log alone rebuilds the group.
 */
export function creationActions(group: GroupModel, creator: Presenter): signal.GroupChange.Actions {
  return ACTIONS.create({
    sourceUuid: creator.aci,
    version: 0,
    addMembers: group.members.map((member) => ({ added: { ...member } })),
    addPendingMembers: group.pending.map((pending) => ({
      added: {
        member: { userId: pending.userId, role: pending.role },
        addedByUserId: pending.addedByUserId,
        timestamp: pending.timestamp,
      },
    })),
    modifyTitle: { title: group.title },
    modifyDescription: { description: group.description },
    modifyAvatar: { avatar: group.avatar },
    modifyDisappearingMessagesTimer: { timer: group.disappearingMessagesTimer },
    modifyAttributesAccess: { attributesAccess: group.access.attributes },
    modifyMemberAccess: { membersAccess: group.access.members },
    modifyAddFromInviteLinkAccess: { addFromInviteLinkAccess: group.access.addFromInviteLink },
    modifyInviteLinkPassword: { inviteLinkPassword: group.inviteLinkPassword },
    modifyAnnouncementsOnly: { announcementsOnly: group.announcementsOnly },
  });
}

/**
 * Applies a change (`modifyGroup`) to `group` in place, checking every action against the
 * presenter's role and the group's access control, and returns the actions as applied (with
 * `sourceUuid` and `version` set, presentations replaced by the ciphertexts they prove, and
 * server stamps), ready to sign. The caller must discard `group` when this throws: actions are
 * checked and applied one by one.
 *
 * Non-members may only act on themselves: accept an invitation (`promotePendingMembers`),
 * decline it (`deletePendingMembers`), join with the invite link (`addMembers` with
 * `joinFromInviteLink`, when the link's access is ANY), ask to join
 * (`addMembersPendingAdminApproval`, when it is ADMINISTRATOR) and withdraw the request.
 *
 * @throws ConflictError when `actions.version` is not the group's version + 1;
 * ForbiddenError when the presenter may not do an action; BadUserInputError naming the field.
 */
export function applyActions(
  group: GroupModel,
  actions: signal.GroupChange.Actions,
  presenter: Presenter,
  context: RuleContext,
  inviteLinkPassword: Uint8Array | null,
): signal.GroupChange.Actions {
  const { limits } = context;
  let source = findMember(group, presenter.aci);
  const holdsLink = holdsInviteLink(group, inviteLinkPassword);
  // Outsiders learn nothing, not even the version, unless they hold the invite link.
  if (!source && !isPending(group, presenter) && !isRequesting(group, presenter) && !holdsLink) {
    throw new ForbiddenError('Not a member of this group');
  }
  if (actions.version !== group.version + 1) {
    throw new ConflictError(
      `The group is at version ${group.version}: send version ${group.version + 1}`,
    );
  }
  const version = group.version + 1;
  const isSelf = (userId: Buffer) =>
    sameBytes(userId, presenter.aci) || sameBytes(userId, presenter.pni);
  const requireMember = () => {
    if (!source) throw new ForbiddenError('Only members can make this change');
  };
  const requireAdmin = (what: string) => {
    if (source?.role !== Role.ADMINISTRATOR)
      throw new ForbiddenError(`Only administrators can ${what}`);
  };
  const requireAccess = (required: Access, what: string) => {
    requireMember();
    if (!allows(required, source)) {
      throw new ForbiddenError(`${Access[required] ?? 'Nobody'} access is needed to ${what}`);
    }
  };
  const requireInviteLink = (required: Access) => {
    if (!holdsLink || group.access.addFromInviteLink !== required) {
      throw new ForbiddenError('The invite link does not allow this');
    }
  };
  const requireProvenSelf = (proven: ProvenMember, field: string) => {
    if (!sameBytes(proven.userId, presenter.aci)) {
      throw new ForbiddenError(`${field} must prove the presenter's own profile key`);
    }
  };
  const out = ACTIONS.create({ sourceUuid: presenter.aci, version });
  let count = 0;

  actions.deleteMembers.forEach((action, i) => {
    const field = `actions.deleteMembers[${i}]`;
    const userId = bytes(action.deletedUserId);
    if (!sameBytes(userId, presenter.aci)) requireAdmin('remove other members');
    const index = group.members.findIndex((m) => sameBytes(m.userId, userId));
    if (index < 0) throw new BadUserInputError(`${field} is not a member`, field);
    const [deleted] = group.members.splice(index, 1);
    if (deleted === source) source = undefined;
    out.deleteMembers.push({ deletedUserId: userId });
    count++;
  });

  actions.modifyMemberRoles.forEach((action, i) => {
    const field = `actions.modifyMemberRoles[${i}]`;
    requireAdmin('change roles');
    const role = checkRole(action.role, `${field}.role`);
    const member = findMember(group, bytes(action.userId));
    if (!member) throw new BadUserInputError(`${field} is not a member`, field);
    member.role = role;
    out.modifyMemberRoles.push({ userId: member.userId, role });
    count++;
  });

  actions.modifyMemberProfileKeys.forEach((action, i) => {
    const field = `actions.modifyMemberProfileKeys[${i}]`;
    requireMember();
    const proven = context.proveMember(bytes(action.presentation), `${field}.presentation`);
    requireProvenSelf(proven, field);
    source!.profileKey = proven.profileKey;
    out.modifyMemberProfileKeys.push({ userId: proven.userId, profileKey: proven.profileKey });
    count++;
  });

  actions.addPendingMembers.forEach((action, i) => {
    const field = `actions.addPendingMembers[${i}]`;
    requireAccess(group.access.members, 'invite members');
    const userId = checkUserId(action.added?.member?.userId, `${field}.added.member.userId`);
    const role = checkRole(action.added?.member?.role, `${field}.added.member.role`);
    if (role === Role.ADMINISTRATOR) requireAdmin('invite administrators');
    if (isInGroup(group, userId)) {
      throw new BadUserInputError(`${field} is already in the group`, field);
    }
    const pending = { userId, role, addedByUserId: presenter.aci, timestamp: context.now };
    group.pending.push(pending);
    out.addPendingMembers.push({
      added: {
        member: { userId, role },
        addedByUserId: pending.addedByUserId,
        timestamp: pending.timestamp,
      },
    });
    count++;
  });

  actions.deletePendingMembers.forEach((action, i) => {
    const field = `actions.deletePendingMembers[${i}]`;
    const userId = bytes(action.deletedUserId);
    const index = group.pending.findIndex((p) => sameBytes(p.userId, userId));
    if (index < 0) throw new BadUserInputError(`${field} is not invited`, field);
    const invitedBySource = source && sameBytes(group.pending[index]!.addedByUserId, presenter.aci);
    if (!isSelf(userId) && !invitedBySource) requireAdmin('revoke invitations of others');
    group.pending.splice(index, 1);
    out.deletePendingMembers.push({ deletedUserId: userId });
    count++;
  });

  actions.promotePendingMembers.forEach((action, i) => {
    const field = `actions.promotePendingMembers[${i}]`;
    const proven = context.proveMember(bytes(action.presentation), `${field}.presentation`);
    requireProvenSelf(proven, field);
    const index = group.pending.findIndex((p) => isSelf(p.userId));
    if (index < 0 || findMember(group, proven.userId)) {
      throw new ForbiddenError('Only an invited non-member can accept an invitation');
    }
    const [pending] = group.pending.splice(index, 1);
    group.members.push({ ...proven, role: pending!.role, joinedAtVersion: version });
    out.promotePendingMembers.push({ userId: proven.userId, profileKey: proven.profileKey });
    count++;
  });

  actions.addMembers.forEach((action, i) => {
    const field = `actions.addMembers[${i}]`;
    const role = checkRole(action.added?.role, `${field}.added.role`);
    if (action.joinFromInviteLink) {
      if (source) throw new ForbiddenError('Members cannot join again');
      requireInviteLink(Access.ANY);
      if (role !== Role.DEFAULT) {
        throw new ForbiddenError('Joining with the invite link gives the DEFAULT role');
      }
    } else {
      requireAccess(group.access.members, 'add members');
      if (role === Role.ADMINISTRATOR) requireAdmin('add administrators');
    }
    const proven = context.proveMember(
      bytes(action.added?.presentation),
      `${field}.added.presentation`,
    );
    if (action.joinFromInviteLink) requireProvenSelf(proven, field);
    if (findMember(group, proven.userId)) {
      throw new BadUserInputError(`${field} is already a member`, field);
    }
    group.pending = group.pending.filter((p) => !sameBytes(p.userId, proven.userId));
    group.requesting = group.requesting.filter((r) => !sameBytes(r.userId, proven.userId));
    const member = { ...proven, role, joinedAtVersion: version };
    group.members.push(member);
    out.addMembers.push({
      added: { ...member },
      joinFromInviteLink: action.joinFromInviteLink,
    });
    count++;
  });

  actions.addMembersPendingAdminApproval.forEach((action, i) => {
    const field = `actions.addMembersPendingAdminApproval[${i}]`;
    if (source) throw new ForbiddenError('Members cannot ask to join');
    requireInviteLink(Access.ADMINISTRATOR);
    const proven = context.proveMember(
      bytes(action.added?.presentation),
      `${field}.added.presentation`,
    );
    requireProvenSelf(proven, field);
    if (isInGroup(group, proven.userId)) {
      throw new BadUserInputError(`${field} is already in the group`, field);
    }
    const requesting = { ...proven, timestamp: context.now };
    group.requesting.push(requesting);
    out.addMembersPendingAdminApproval.push({ added: { ...requesting } });
    count++;
  });

  actions.deleteMembersPendingAdminApproval.forEach((action, i) => {
    const field = `actions.deleteMembersPendingAdminApproval[${i}]`;
    const userId = bytes(action.deletedUserId);
    if (!sameBytes(userId, presenter.aci)) {
      requireAccess(Access.ADMINISTRATOR, 'deny requests to join');
    }
    const index = group.requesting.findIndex((r) => sameBytes(r.userId, userId));
    if (index < 0) throw new BadUserInputError(`${field} did not ask to join`, field);
    group.requesting.splice(index, 1);
    out.deleteMembersPendingAdminApproval.push({ deletedUserId: userId });
    count++;
  });

  actions.promoteMembersPendingAdminApproval.forEach((action, i) => {
    const field = `actions.promoteMembersPendingAdminApproval[${i}]`;
    requireAccess(Access.ADMINISTRATOR, 'approve requests to join');
    const role = checkRole(action.role, `${field}.role`);
    const userId = bytes(action.userId);
    const index = group.requesting.findIndex((r) => sameBytes(r.userId, userId));
    if (index < 0) throw new BadUserInputError(`${field} did not ask to join`, field);
    const [requesting] = group.requesting.splice(index, 1);
    group.members.push({
      userId: requesting!.userId,
      profileKey: requesting!.profileKey,
      role,
      joinedAtVersion: version,
    });
    out.promoteMembersPendingAdminApproval.push({ userId, role });
    count++;
  });

  if (actions.modifyTitle) {
    requireAccess(group.access.attributes, 'change the title');
    group.title = bytes(actions.modifyTitle.title);
    checkMaxBytes(group.title, limits.maxTitleBytes, 'actions.modifyTitle.title');
    out.modifyTitle = { title: group.title };
    count++;
  }
  if (actions.modifyDescription) {
    requireAccess(group.access.attributes, 'change the description');
    group.description = bytes(actions.modifyDescription.description);
    checkMaxBytes(
      group.description,
      limits.maxDescriptionBytes,
      'actions.modifyDescription.description',
    );
    out.modifyDescription = { description: group.description };
    count++;
  }
  if (actions.modifyAvatar) {
    requireAccess(group.access.attributes, 'change the avatar');
    group.avatar = actions.modifyAvatar.avatar ?? '';
    checkAvatar(group.avatar, limits, 'actions.modifyAvatar.avatar');
    out.modifyAvatar = { avatar: group.avatar };
    count++;
  }
  if (actions.modifyDisappearingMessagesTimer) {
    requireAccess(group.access.attributes, 'change the disappearing-message timer');
    group.disappearingMessagesTimer = bytes(actions.modifyDisappearingMessagesTimer.timer);
    checkMaxBytes(
      group.disappearingMessagesTimer,
      limits.maxTimerBytes,
      'actions.modifyDisappearingMessagesTimer.timer',
    );
    out.modifyDisappearingMessagesTimer = { timer: group.disappearingMessagesTimer };
    count++;
  }
  if (actions.modifyAttributesAccess) {
    requireAdmin('change access control');
    group.access.attributes = checkAccess(
      actions.modifyAttributesAccess.attributesAccess,
      MEMBER_ACCESS,
      'actions.modifyAttributesAccess.attributesAccess',
    );
    out.modifyAttributesAccess = { attributesAccess: group.access.attributes };
    count++;
  }
  if (actions.modifyMemberAccess) {
    requireAdmin('change access control');
    group.access.members = checkAccess(
      actions.modifyMemberAccess.membersAccess,
      MEMBER_ACCESS,
      'actions.modifyMemberAccess.membersAccess',
    );
    out.modifyMemberAccess = { membersAccess: group.access.members };
    count++;
  }
  if (actions.modifyAddFromInviteLinkAccess) {
    requireAdmin('change access control');
    group.access.addFromInviteLink = checkAccess(
      actions.modifyAddFromInviteLinkAccess.addFromInviteLinkAccess,
      LINK_ACCESS,
      'actions.modifyAddFromInviteLinkAccess.addFromInviteLinkAccess',
    );
    out.modifyAddFromInviteLinkAccess = {
      addFromInviteLinkAccess: group.access.addFromInviteLink,
    };
    count++;
  }
  if (actions.modifyInviteLinkPassword) {
    requireAdmin('change the invite link');
    group.inviteLinkPassword = bytes(actions.modifyInviteLinkPassword.inviteLinkPassword);
    checkInviteLinkPassword(
      group.inviteLinkPassword,
      'actions.modifyInviteLinkPassword.inviteLinkPassword',
    );
    out.modifyInviteLinkPassword = { inviteLinkPassword: group.inviteLinkPassword };
    count++;
  }
  if (actions.modifyAnnouncementsOnly) {
    requireAdmin('change announcement-only mode');
    group.announcementsOnly = actions.modifyAnnouncementsOnly.announcementsOnly ?? false;
    out.modifyAnnouncementsOnly = { announcementsOnly: group.announcementsOnly };
    count++;
  }

  if (count === 0) throw new BadUserInputError('actions change nothing', 'actions');
  checkSize(group, limits);
  group.version = version;
  return out;
}
