import { signal, toSafeNumber } from '@courier/proto';

export const Role = signal.Member.Role;
export type Role = signal.Member.Role;
export const Access = signal.AccessControl.AccessRequired;
export type Access = signal.AccessControl.AccessRequired;

/** A full member: ACI ciphertext, role, profile key ciphertext, version they joined at. */
export interface MemberEntry {
  readonly userId: Buffer;
  role: Role;
  profileKey: Buffer;
  readonly joinedAtVersion: number;
}

/** An invited member (ACI or PNI ciphertext) who has not accepted yet. */
export interface PendingEntry {
  readonly userId: Buffer;
  readonly role: Role;
  readonly addedByUserId: Buffer;
  readonly timestamp: number;
}

/** Someone who asked to join with the invite link. */
export interface RequestingEntry {
  readonly userId: Buffer;
  readonly profileKey: Buffer;
  readonly timestamp: number;
}

/** Who may change attributes, members, and join with the invite link. */
export interface AccessModel {
  attributes: Access;
  members: Access;
  addFromInviteLink: Access;
}

/**
 * A group's state as the rules work on it (decoded from / encoded to `signal.Group`). Every
 * byte field is ciphertext the server cannot read, except `publicKey` and `inviteLinkPassword`.
 */
export interface GroupModel {
  readonly publicKey: Buffer;
  version: number;
  title: Buffer;
  description: Buffer;
  avatar: string;
  disappearingMessagesTimer: Buffer;
  access: AccessModel;
  members: MemberEntry[];
  pending: PendingEntry[];
  requesting: RequestingEntry[];
  inviteLinkPassword: Buffer;
  announcementsOnly: boolean;
}

/** Copies bytes out of a decoded message (decoded Buffers may share the input's memory). */
export function bytes(value: Uint8Array | null | undefined): Buffer {
  return Buffer.from(value ?? new Uint8Array(0));
}

/** Constant-length-agnostic byte equality for ciphertexts (they are not secrets to each other). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The model of a decoded `signal.Group`. */
export function groupFromProto(group: signal.Group.$Properties): GroupModel {
  return {
    publicKey: bytes(group.publicKey),
    version: group.version ?? 0,
    title: bytes(group.title),
    description: bytes(group.description),
    avatar: group.avatar ?? '',
    disappearingMessagesTimer: bytes(group.disappearingMessagesTimer),
    access: {
      attributes: group.accessControl?.attributes ?? Access.UNKNOWN,
      members: group.accessControl?.members ?? Access.UNKNOWN,
      addFromInviteLink: group.accessControl?.addFromInviteLink ?? Access.UNKNOWN,
    },
    members: (group.members ?? []).map((member) => ({
      userId: bytes(member.userId),
      role: member.role ?? Role.UNKNOWN,
      profileKey: bytes(member.profileKey),
      joinedAtVersion: member.joinedAtVersion ?? 0,
    })),
    pending: (group.membersPendingProfileKey ?? []).map((pending) => ({
      userId: bytes(pending.member?.userId),
      role: pending.member?.role ?? Role.UNKNOWN,
      addedByUserId: bytes(pending.addedByUserId),
      timestamp: toSafeNumber(pending.timestamp),
    })),
    requesting: (group.membersPendingAdminApproval ?? []).map((requesting) => ({
      userId: bytes(requesting.userId),
      profileKey: bytes(requesting.profileKey),
      timestamp: toSafeNumber(requesting.timestamp),
    })),
    inviteLinkPassword: bytes(group.inviteLinkPassword),
    announcementsOnly: group.announcementsOnly ?? false,
  };
}

/** The `signal.Group` of a model. */
export function groupToProto(group: GroupModel): signal.Group {
  return signal.Group.create({
    publicKey: group.publicKey,
    title: group.title,
    avatar: group.avatar,
    disappearingMessagesTimer: group.disappearingMessagesTimer,
    accessControl: { ...group.access },
    version: group.version,
    members: group.members.map((member) => ({ ...member })),
    membersPendingProfileKey: group.pending.map((pending) => ({
      member: { userId: pending.userId, role: pending.role },
      addedByUserId: pending.addedByUserId,
      timestamp: pending.timestamp,
    })),
    membersPendingAdminApproval: group.requesting.map((requesting) => ({ ...requesting })),
    inviteLinkPassword: group.inviteLinkPassword,
    description: group.description,
    announcementsOnly: group.announcementsOnly,
  });
}

/** Encodes a model as `signal.Group` bytes. */
export function encodeGroup(group: GroupModel): Uint8Array<ArrayBuffer> {
  return new Uint8Array(signal.Group.encode(groupToProto(group)).finish());
}

/** Decodes stored `signal.Group` bytes. */
export function decodeGroup(state: Uint8Array): GroupModel {
  return groupFromProto(signal.Group.decode(state));
}
