import { randomBytes } from 'node:crypto';
import { Aci, Pni, type ServiceId } from '@signalapp/libsignal-client/dist/Address.js';
import type {
  AuthCredentialWithPni,
  ExpiringProfileKeyCredential,
  GroupSecretParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import {
  AuthCredentialWithPniResponse,
  ClientZkAuthOperations,
  ClientZkGroupCipher,
  ClientZkProfileOperations,
  ExpiringProfileKeyCredentialResponse,
  GroupSendEndorsementsResponse,
  NotarySignature,
  ProfileKey,
  ProfileKeyCiphertext,
  ServerPublicParams,
  UuidCiphertext,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import type { ReceivedEndorsements } from '@signalapp/libsignal-client/dist/zkgroup/groupsend/GroupSendEndorsementsResponse.js';
import { signal } from '@courier/proto';
import {
  expectData,
  postGraphQL,
  type GraphQLResponse,
  type Platform,
  type TestAccount,
} from '@courier/testing';

export const DAY_MS = 86_400_000;
export const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
export const bytesOf = (value: string) => new Uint8Array(Buffer.from(value, 'base64'));
export const random = (length: number) => new Uint8Array(randomBytes(length));
export const codeOf = (body: GraphQLResponse<unknown>) => body.errors?.[0]?.extensions?.['code'];

const GROUP_FIELDS = 'version state groupSendEndorsements { expiresAt response }';
export const CREATE_GROUP = `mutation ($auth: GroupAuth!, $group: Base64!) {
  createGroup(auth: $auth, group: $group) { ${GROUP_FIELDS} } }`;
export const GET_GROUP = `query ($auth: GroupAuth!) { group(auth: $auth) { ${GROUP_FIELDS} } }`;
export const MODIFY_GROUP = `mutation ($auth: GroupAuth!, $actions: Base64!, $password: Base64) {
  modifyGroup(auth: $auth, actions: $actions, inviteLinkPassword: $password) {
    version change group { ${GROUP_FIELDS} } } }`;
export const GROUP_CHANGES = `query ($auth: GroupAuth!, $from: Int!, $limit: Int) {
  groupChanges(auth: $auth, fromVersion: $from, limit: $limit) {
    changes { version change } currentVersion hasMore group { ${GROUP_FIELDS} } } }`;
export const JOIN_INFO = `query ($auth: GroupAuth!, $password: Base64) {
  groupJoinInfo(auth: $auth, inviteLinkPassword: $password) {
    publicParams title description avatar memberCount addFromInviteLink version
    pendingAdminApproval protobuf } }`;

/** A group as the API answers it. */
export interface GroupData {
  version: number;
  state: string;
  groupSendEndorsements: { expiresAt: number; response: string } | null;
}

/** `modifyGroup`'s answer. */
export interface ChangeData {
  version: number;
  change: string;
  group: GroupData | null;
}

/**
 * A client of the groups API: an account with its profile key, an expiring profile key
 * credential for it and a group auth credential for today, all obtained through the gateway.
 */
export class GroupUser {
  readonly aci: Aci;
  readonly pni: Pni;

  constructor(
    readonly platform: Platform,
    readonly account: TestAccount,
    readonly serverParams: ServerPublicParams,
    readonly profileKey: ProfileKey,
    readonly profileCredential: ExpiringProfileKeyCredential,
    readonly authCredential: AuthCredentialWithPni,
  ) {
    this.aci = Aci.fromUuid(account.aci);
    this.pni = Pni.fromUuid(account.pni);
  }

  /** Sets a profile, fetches its own profile key credential and today's auth credential. */
  static async create(
    platform: Platform,
    account: TestAccount,
    serverParams: ServerPublicParams,
  ): Promise<GroupUser> {
    const aci = Aci.fromUuid(account.aci);
    const profileKey = new ProfileKey(random(32));
    const version = profileKey.getProfileKeyVersion(aci).toString();
    expectData(
      await postGraphQL(
        platform.gatewayUrl,
        `mutation ($input: SetProfileInput!) { setProfile(input: $input) { version } }`,
        {
          token: account.token,
          variables: {
            input: {
              version,
              commitment: b64(profileKey.getCommitment(aci).serialize()),
              name: b64(random(81)),
              avatar: 'KEEP',
            },
          },
        },
      ),
      'setProfile',
    );
    const profiles = new ClientZkProfileOperations(serverParams);
    const context = profiles.createProfileKeyCredentialRequestContext(aci, profileKey);
    const profile = expectData<{ profile: { credential: string } }>(
      await postGraphQL(
        platform.gatewayUrl,
        `query ($id: String!, $v: String, $r: Base64) {
          profile(serviceId: $id, version: $v, credentialRequest: $r) { credential } }`,
        {
          token: account.token,
          variables: { id: account.aci, v: version, r: b64(context.getRequest().serialize()) },
        },
      ),
      'profile',
    ).profile;
    const profileCredential = profiles.receiveExpiringProfileKeyCredential(
      context,
      new ExpiringProfileKeyCredentialResponse(bytesOf(profile.credential)),
    );
    const today = Math.floor(Date.now() / DAY_MS);
    const issued = expectData<{
      groupAuthCredentials: {
        aci: string;
        pni: string;
        credentials: { day: number; redemptionTime: number; credential: string }[];
      };
    }>(
      await postGraphQL(
        platform.gatewayUrl,
        `query ($from: Int!, $to: Int!) { groupAuthCredentials(fromDay: $from, toDay: $to) {
          aci pni credentials { day redemptionTime credential } } }`,
        { token: account.token, variables: { from: today, to: today } },
      ),
      'groupAuthCredentials',
    ).groupAuthCredentials;
    const credential = issued.credentials[0]!;
    const authCredential = new ClientZkAuthOperations(
      serverParams,
    ).receiveAuthCredentialWithPniAsServiceId(
      aci,
      Pni.fromUuid(issued.pni),
      credential.redemptionTime / 1000,
      new AuthCredentialWithPniResponse(bytesOf(credential.credential)),
    );
    return new GroupUser(
      platform,
      account,
      serverParams,
      profileKey,
      profileCredential,
      authCredential,
    );
  }

  /** `auth` for a group: its public params and a fresh auth credential presentation. */
  auth(group: GroupSecretParams) {
    const presentation = new ClientZkAuthOperations(
      this.serverParams,
    ).createAuthCredentialWithPniPresentation(group, this.authCredential);
    return {
      publicParams: b64(group.getPublicParams().serialize()),
      presentation: b64(presentation.serialize()),
    };
  }

  /** A profile key credential presentation for a group (adding or proving a member). */
  presentation(group: GroupSecretParams): Uint8Array {
    return new ClientZkProfileOperations(this.serverParams)
      .createExpiringProfileKeyCredentialPresentation(group, this.profileCredential)
      .serialize();
  }

  /** This user's ACI (or PNI) ciphertext in a group. */
  userId(group: GroupSecretParams, serviceId: ServiceId = this.aci): Uint8Array {
    return new ClientZkGroupCipher(group).encryptServiceId(serviceId).serialize();
  }

  /** Posts a groups operation as this client (no access token: the presentation is the auth). */
  request<T>(query: string, variables: Record<string, unknown>) {
    return postGraphQL<T>(this.platform.gatewayUrl, query, { variables });
  }

  read(group: GroupSecretParams) {
    return this.request<{ group: GroupData }>(GET_GROUP, { auth: this.auth(group) });
  }

  modify(
    group: GroupSecretParams,
    actions: signal.GroupChange.Actions.$Properties,
    password?: Uint8Array,
  ) {
    return this.request<{ modifyGroup: ChangeData }>(MODIFY_GROUP, {
      auth: this.auth(group),
      actions: b64(signal.GroupChange.Actions.encode(actions).finish()),
      ...(password ? { password: b64(password) } : {}),
    });
  }

  /** Receives the group send endorsements of a group answer. */
  endorsements(
    group: GroupSecretParams,
    data: GroupData,
    members: readonly ServiceId[],
  ): ReceivedEndorsements & { expiration: Date } {
    const response = new GroupSendEndorsementsResponse(
      bytesOf(data.groupSendEndorsements!.response),
    );
    return {
      ...response.receiveWithServiceIds([...members], this.aci, group, this.serverParams),
      expiration: response.getExpiration(),
    };
  }
}

/** A group's state decrypted as a member sees it. */
export interface DecryptedGroup {
  version: number;
  title: string;
  description: string;
  members: { aci: string; role: signal.Member.Role; profileKey: Uint8Array; joinedAt: number }[];
  pending: { serviceId: string; role: signal.Member.Role }[];
  requesting: { aci: string }[];
  access: signal.AccessControl.$Properties;
  inviteLinkPassword: Uint8Array;
  announcementsOnly: boolean;
}

/** Encrypts a title or description the way a client does. */
export function encryptText(group: GroupSecretParams, text: string): Uint8Array {
  return new ClientZkGroupCipher(group).encryptBlob(new Uint8Array(Buffer.from(text)));
}

/** Decodes and decrypts `signal.Group` bytes with the group's secret params. */
export function decryptGroup(group: GroupSecretParams, state: Uint8Array): DecryptedGroup {
  const cipher = new ClientZkGroupCipher(group);
  const decoded = signal.Group.decode(state);
  const text = (blob: Uint8Array) =>
    blob.length === 0 ? '' : Buffer.from(cipher.decryptBlob(new Uint8Array(blob))).toString();
  const serviceId = (userId: Uint8Array) =>
    cipher.decryptServiceId(new UuidCiphertext(new Uint8Array(userId)));
  return {
    version: decoded.version,
    title: text(decoded.title),
    description: text(decoded.description),
    members: decoded.members.map((member) => {
      const aci = serviceId(member.userId!) as Aci;
      return {
        aci: aci.getServiceIdString(),
        role: member.role!,
        profileKey: cipher
          .decryptProfileKey(new ProfileKeyCiphertext(new Uint8Array(member.profileKey!)), aci)
          .serialize(),
        joinedAt: member.joinedAtVersion ?? 0,
      };
    }),
    pending: decoded.membersPendingProfileKey.map((pending) => ({
      serviceId: serviceId(pending.member!.userId!).getServiceIdString(),
      role: pending.member!.role!,
    })),
    requesting: decoded.membersPendingAdminApproval.map((requesting) => ({
      aci: serviceId(requesting.userId!).getServiceIdString(),
    })),
    access: decoded.accessControl ?? {},
    inviteLinkPassword: decoded.inviteLinkPassword,
    announcementsOnly: decoded.announcementsOnly,
  };
}

/** Decodes a signed change, checking the server's signature over its actions. */
export function verifiedChange(
  serverParams: ServerPublicParams,
  change: Uint8Array,
): signal.GroupChange.Actions {
  const decoded = signal.GroupChange.decode(change);
  serverParams.verifySignature(
    new Uint8Array(decoded.actions),
    new NotarySignature(new Uint8Array(decoded.serverSignature)),
  );
  return signal.GroupChange.Actions.decode(decoded.actions);
}

/** The deployment's zkgroup public params, as clients fetch them. */
export async function serverPublicParams(platform: Platform): Promise<ServerPublicParams> {
  const published = expectData<{ zkServerPublicParams: string }>(
    await postGraphQL(platform.gatewayUrl, '{ zkServerPublicParams }'),
    'zkServerPublicParams',
  );
  return new ServerPublicParams(bytesOf(published.zkServerPublicParams));
}
