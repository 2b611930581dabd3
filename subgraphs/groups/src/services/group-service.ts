import type { AuthenticatedDevice } from '@courier/auth';
import {
  BadUserInputError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
} from '@courier/errors';
import { signal } from '@courier/proto';
import type { AccountsClient } from '@courier/server';
import type { GroupRepository, StoredGroup } from '../repositories/group-repository.ts';
import type { GroupLimits } from './group-limits.ts';
import { Access, decodeGroup, encodeGroup, type GroupModel } from './group-model.ts';
import {
  applyActions,
  checkNewGroup,
  creationActions,
  findMember,
  holdsInviteLink,
  isPending,
  isRequesting,
  type RuleContext,
} from './group-rules.ts';
import {
  DAY_MS,
  type GroupAuthInput,
  type GroupZk,
  type IssuedAuthCredential,
  type IssuedEndorsements,
  type VerifiedGroupAuth,
} from './group-zk.ts';

/** Most days of auth credentials per request (Signal: a week ahead). */
export const MAX_CREDENTIAL_DAYS = 7;
/** Version of the change rules (`GroupChange.changeEpoch`). */
export const CHANGE_EPOCH = 1;
/** Group versions whose endorsements are kept for reuse. */
const ENDORSEMENT_CACHE_SIZE = 1000;

/** `groupAuthCredentials`'s answer. */
export interface GroupAuthCredentials {
  readonly aci: string;
  readonly pni: string;
  readonly credentials: readonly IssuedAuthCredential[];
}

/** A group as a member (or invitee) reads it. */
export interface GroupView {
  readonly version: number;
  /** Encoded `signal.Group`. */
  readonly state: Uint8Array;
  /**
   * Group send endorsements, for full members only (null for invitees). Issued on demand:
   * a 1000-member group costs about 100 ms per new version, and clients that do not ask for
   * them do not pay for them.
   */
  groupSendEndorsements(): IssuedEndorsements | null;
}

/** `modifyGroup`'s answer. */
export interface GroupChangeResult {
  readonly version: number;
  /** Encoded, signed `signal.GroupChange`. */
  readonly change: Uint8Array;
  /** The new state, when the presenter is still a member or invitee after the change. */
  readonly group: GroupView | null;
}

/** A page of the change log. */
export interface GroupChangesPage {
  readonly changes: readonly { readonly version: number; readonly change: Uint8Array }[];
  readonly currentVersion: number;
  readonly hasMore: boolean;
  /** The current state, when the page reaches it. */
  readonly group: GroupView | null;
}

/** What a non-member learns from an invite link. */
export interface GroupJoinInfoView {
  readonly publicParams: Uint8Array;
  readonly title: Uint8Array;
  readonly description: Uint8Array;
  readonly avatar: string;
  readonly memberCount: number;
  readonly addFromInviteLink: string;
  readonly version: number;
  readonly pendingAdminApproval: boolean;
  /** Encoded `signal.GroupJoinInfo`. */
  readonly protobuf: Uint8Array;
}

/** Dependencies of {@link GroupService}. */
export interface GroupServiceOptions {
  readonly repository: GroupRepository;
  readonly zk: GroupZk;
  /** Where the caller's PNI is looked up for auth credentials. */
  readonly accounts: Pick<AccountsClient, 'findTarget'>;
  readonly limits: GroupLimits;
  /** ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

function decodeInput<T>(
  decode: (bytes: Uint8Array) => T,
  input: Uint8Array,
  limit: number,
  field: string,
): T {
  if (input.length > limit)
    throw new PayloadTooLargeError(limit, `${field} exceeds ${limit} bytes`);
  try {
    return decode(input);
  } catch {
    throw new BadUserInputError(`${field} is not a valid protobuf message`, field);
  }
}

/**
 * Groups v2 (Signal's storage-service groups): the server keeps each group's state and change
 * log as protobufs whose member ids and profile keys are zkgroup ciphertexts, checks who asks
 * with auth credential presentations (matching the presenter's ciphertext against the
 * members'), and never learns who the members are.
 *
 * Every change is checked against roles and access control (see `applyActions`), signed by the
 * server, and stored with the state it produces in one transaction guarded by the version it
 * was made against: of two changes at one version exactly one lands, the other is `CONFLICT`
 * and changes nothing. Full members get group send endorsements with every read and change.
 */
export class GroupService {
  readonly #repository: GroupRepository;
  readonly #zk: GroupZk;
  readonly #accounts: GroupServiceOptions['accounts'];
  readonly #limits: GroupLimits;
  readonly #now: () => number;
  /**
   * Endorsements by group id, version and expiry. Every member of a group version is endorsed
   * with the same member set, so one response serves them all until it expires; issuing costs
   * about 0.1 ms per member (100 ms for 1000), a lookup nothing.
   */
  readonly #endorsements = new Map<string, IssuedEndorsements>();

  constructor(options: GroupServiceOptions) {
    this.#repository = options.repository;
    this.#zk = options.zk;
    this.#accounts = options.accounts;
    this.#limits = options.limits;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Auth credentials (with ACI and PNI) for each day from `fromDay` to `toDay` (days since the
   * epoch, UTC), at most {@link MAX_CREDENTIAL_DAYS} days ahead of today.
   */
  async authCredentials(
    device: AuthenticatedDevice,
    fromDay: number,
    toDay: number,
  ): Promise<GroupAuthCredentials> {
    const today = Math.floor(this.#now() / DAY_MS);
    if (!Number.isInteger(fromDay) || fromDay < today - 1 || fromDay > today + 1) {
      throw new BadUserInputError('fromDay must be today (days since the epoch, UTC)', 'fromDay');
    }
    if (!Number.isInteger(toDay) || toDay < fromDay || toDay > today + MAX_CREDENTIAL_DAYS) {
      throw new BadUserInputError(
        `toDay must be from fromDay to ${MAX_CREDENTIAL_DAYS} days from today`,
        'toDay',
      );
    }
    const account = await this.#accounts.findTarget(device.aci);
    if (!account) throw new NotFoundError('No such account');
    const days = Array.from({ length: toDay - fromDay + 1 }, (_, i) => fromDay + i);
    return {
      aci: account.aci,
      pni: account.pni,
      credentials: this.#zk.issueAuthCredentials(account.aci, account.pni, days),
    };
  }

  /**
   * Creates a group (version 0) from the creator's `signal.Group`; see `checkNewGroup`.
   * @throws ConflictError when a group with these params exists.
   */
  async createGroup(auth: GroupAuthInput, input: Uint8Array): Promise<GroupView> {
    const now = this.#now();
    const verified = this.#zk.verifyAuth(auth, new Date(now));
    const proto = decodeInput(
      (b) => signal.Group.decode(b),
      input,
      this.#limits.maxInputBytes,
      'group',
    );
    const group = checkNewGroup(
      proto,
      verified.publicParamsBytes,
      verified.presenter,
      this.#rules(verified, now),
    );
    const state = encodeGroup(group);
    const change = this.#sign(creationActions(group, verified.presenter));
    if (!(await this.#repository.create(verified.groupId, state, change))) {
      throw new ConflictError('A group with these params exists');
    }
    return this.#view(group, state, verified, now);
  }

  /** The group's current state, for members and invitees; endorsements for members. */
  async group(auth: GroupAuthInput): Promise<GroupView> {
    const now = this.#now();
    const verified = this.#zk.verifyAuth(auth, new Date(now));
    const { group, stored } = await this.#load(verified);
    if (!findMember(group, verified.presenter.aci) && !isPending(group, verified.presenter)) {
      throw new ForbiddenError('Not a member of this group');
    }
    return this.#view(group, stored.state, verified, now);
  }

  /**
   * Applies encoded `signal.GroupChange.Actions` (see `applyActions` for who may do what);
   * `inviteLinkPassword` for joins and requests with the invite link.
   */
  async modifyGroup(
    auth: GroupAuthInput,
    input: Uint8Array,
    inviteLinkPassword: Uint8Array | null,
  ): Promise<GroupChangeResult> {
    const now = this.#now();
    const verified = this.#zk.verifyAuth(auth, new Date(now));
    const actions = decodeInput(
      (b) => signal.GroupChange.Actions.decode(b),
      input,
      this.#limits.maxInputBytes,
      'actions',
    );
    const { group, stored } = await this.#load(verified);
    const applied = applyActions(
      group,
      actions,
      verified.presenter,
      this.#rules(verified, now),
      inviteLinkPassword,
    );
    const state = encodeGroup(group);
    const change = this.#sign(applied);
    if (!(await this.#repository.update(verified.groupId, stored.version, state, change))) {
      throw new ConflictError(
        'The group changed meanwhile: fetch the new version and make the change again',
      );
    }
    const stillIn =
      findMember(group, verified.presenter.aci) || isPending(group, verified.presenter);
    return {
      version: group.version,
      change,
      group: stillIn ? this.#view(group, state, verified, now) : null,
    };
  }

  /**
   * Up to `limit` (1 to the page size) changes from `fromVersion` on, for members, from the
   * version they joined at; with the current state when the page reaches it.
   */
  async groupChanges(
    auth: GroupAuthInput,
    fromVersion: number,
    limit: number | null,
  ): Promise<GroupChangesPage> {
    const pageSize = this.#limits.changesPageSize;
    const take = limit ?? pageSize;
    if (!Number.isInteger(take) || take < 1 || take > pageSize) {
      throw new BadUserInputError(`limit must be 1 to ${pageSize}`, 'limit');
    }
    if (!Number.isInteger(fromVersion) || fromVersion < 0) {
      throw new BadUserInputError('fromVersion must be 0 or more', 'fromVersion');
    }
    const now = this.#now();
    const verified = this.#zk.verifyAuth(auth, new Date(now));
    const { group, stored } = await this.#load(verified);
    const member = findMember(group, verified.presenter.aci);
    if (!member) throw new ForbiddenError('Not a member of this group');
    if (fromVersion < member.joinedAtVersion) {
      throw new ForbiddenError(`Changes before version ${member.joinedAtVersion} are not yours`);
    }
    const changes = await this.#repository.changes(verified.groupId, fromVersion, take);
    const last = changes.at(-1)?.version ?? fromVersion - 1;
    const reachesCurrent = last >= group.version;
    return {
      changes,
      currentVersion: group.version,
      hasMore: !reachesCurrent,
      group: reachesCurrent ? this.#view(group, stored.state, verified, now) : null,
    };
  }

  /**
   * What the invite link shows: for anyone holding the link's password while the link works,
   * and for someone whose request to join waits for approval.
   */
  async groupJoinInfo(
    auth: GroupAuthInput,
    inviteLinkPassword: Uint8Array | null,
  ): Promise<GroupJoinInfoView> {
    const verified = this.#zk.verifyAuth(auth, new Date(this.#now()));
    const { group } = await this.#load(verified);
    const requesting = isRequesting(group, verified.presenter);
    const linkWorks =
      group.access.addFromInviteLink !== Access.UNSATISFIABLE &&
      holdsInviteLink(group, inviteLinkPassword);
    if (!requesting && !linkWorks) throw new ForbiddenError('The invite link does not work');
    const info = {
      publicKey: group.publicKey,
      title: group.title,
      avatar: group.avatar,
      memberCount: group.members.length,
      addFromInviteLink: group.access.addFromInviteLink,
      version: group.version,
      pendingAdminApproval: requesting,
      description: group.description,
    };
    return {
      ...info,
      publicParams: group.publicKey,
      addFromInviteLink: Access[group.access.addFromInviteLink] ?? 'UNKNOWN',
      protobuf: new Uint8Array(signal.GroupJoinInfo.encode(info).finish()),
    };
  }

  async #load(verified: VerifiedGroupAuth): Promise<{ group: GroupModel; stored: StoredGroup }> {
    const stored = await this.#repository.find(verified.groupId);
    if (!stored) throw new NotFoundError('No such group');
    return { group: decodeGroup(stored.state), stored };
  }

  #rules(verified: VerifiedGroupAuth, now: number): RuleContext {
    return {
      limits: this.#limits,
      now,
      proveMember: this.#zk.memberProver(verified.publicParams, new Date(now)),
    };
  }

  #sign(actions: signal.GroupChange.Actions): Uint8Array {
    const encoded = new Uint8Array(signal.GroupChange.Actions.encode(actions).finish());
    return new Uint8Array(
      signal.GroupChange.encode({
        actions: encoded,
        serverSignature: this.#zk.sign(encoded),
        changeEpoch: CHANGE_EPOCH,
      }).finish(),
    );
  }

  #view(group: GroupModel, state: Uint8Array, verified: VerifiedGroupAuth, now: number): GroupView {
    const member = findMember(group, verified.presenter.aci);
    return {
      version: group.version,
      state,
      groupSendEndorsements: () => (member ? this.#endorse(verified.groupId, group, now) : null),
    };
  }

  #endorse(groupId: Buffer, group: GroupModel, now: number): IssuedEndorsements {
    const key = `${groupId.toString('base64')}:${group.version}`;
    const cached = this.#endorsements.get(key);
    if (cached && cached.expiresAt === this.#zk.endorsementExpiry(now)) return cached;
    const issued = this.#zk.endorse(
      group.members.map((m) => m.userId),
      now,
    );
    this.#endorsements.delete(key);
    if (this.#endorsements.size >= ENDORSEMENT_CACHE_SIZE) {
      this.#endorsements.delete(this.#endorsements.keys().next().value!);
    }
    this.#endorsements.set(key, issued);
    return issued;
  }
}
