import { randomBytes, randomUUID } from 'node:crypto';
import {
  ContentHint,
  ProtocolAddress,
  PublicKey,
  SenderCertificate,
  SenderKeyDistributionMessage,
  UnidentifiedSenderMessageContent,
  groupDecrypt,
  groupEncrypt,
  processPreKeyBundle,
  processSenderKeyDistributionMessage,
  sealedSenderDecryptMessage,
  sealedSenderDecryptToUsmc,
  sealedSenderEncryptMessage,
  sealedSenderMultiRecipientEncrypt,
} from '@signalapp/libsignal-client';
import type { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import type { GroupSendEndorsement } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import {
  GroupSecretParams,
  type ServerPublicParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { signal } from '@courier/proto';
import { checkGroupSendToken } from '@courier/server';
import {
  PRE_KEY_BUNDLE_FIELDS,
  TestSignalStores,
  acknowledgeEnvelopes,
  expectData,
  linkTestDevice,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  toLibsignalBundle,
  type Platform,
  type PreKeyBundleDeviceResponse,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CREATE_GROUP,
  GroupUser,
  b64,
  bytesOf,
  codeOf,
  encryptText,
  serverPublicParams,
  type ChangeData,
  type GroupData,
} from './groups-support.ts';

const { Role } = signal.Member;
const { AccessRequired } = signal.AccessControl;

const MULTI_SEND = `mutation ($p: Base64!, $t: Timestamp!, $token: Base64) {
  sendMultiRecipientMessage(payload: $p, timestamp: $t, groupSendToken: $token) {
    __typename ... on MultiRecipientMessageSuccess { unknownRecipients } } }`;
const SEALED_SEND = `mutation ($d: String!, $i: SendMessageInput!, $a: MessageAccess) {
  sendMessage(destination: $d, input: $i, access: $a) { __typename } }`;
const BUNDLE = `mutation ($id: String!, $access: KeyAccess) {
  preKeyBundle(serviceId: $id, access: $access) { ${PRE_KEY_BUNDLE_FIELDS} } }`;
const POLL = `query { envelopes(limit: 10) { more envelopes { guid content serverTimestamp } } }`;

/** A member's device: its token and libsignal stores. */
interface Device {
  readonly user: GroupUser;
  readonly deviceId: number;
  readonly registrationId: number;
  readonly token: string;
  readonly stores: TestSignalStores;
}

describe('group chat: sender keys, multi-recipient sends with group send endorsements', () => {
  let platform: Platform;
  let params: ServerPublicParams;
  let trustRoot: PublicKey;
  let numbers = 0;
  const register = () =>
    registerTestAccount(platform, `+1415558${String(1000 + numbers++).padStart(4, '0')}`);

  const devicesOf = async (user: GroupUser, linked: number): Promise<Device[]> => {
    const devices: Device[] = [
      {
        user,
        deviceId: 1,
        registrationId: user.account.aciIdentity.registrationId,
        token: user.account.token,
        stores: TestSignalStores.forIdentity(user.account.aciIdentity),
      },
    ];
    for (let i = 0; i < linked; i++) {
      const device = await linkTestDevice(platform, user.account);
      devices.push({
        user,
        deviceId: device.deviceId,
        registrationId: device.registrationId,
        token: device.token,
        stores: device.aciStores,
      });
    }
    return devices;
  };

  const multiSend = async (payload: Uint8Array, token: Uint8Array) =>
    (
      await postGraphQL<{
        sendMultiRecipientMessage: { __typename: string; unknownRecipients: string[] };
      }>(platform.gatewayUrl, MULTI_SEND, {
        variables: { p: b64(payload), t: Date.now(), token: b64(token) },
      })
    ).body;

  beforeAll(async () => {
    platform = await startPlatform({ messagesAccountCacheTtlMs: 0 });
    params = await serverPublicParams(platform);
    trustRoot = PublicKey.deserialize(
      bytesOf(
        expectData<{ senderCertificateTrustRoot: string }>(
          await postGraphQL(platform.gatewayUrl, '{ senderCertificateTrustRoot }'),
          'senderCertificateTrustRoot',
        ).senderCertificateTrustRoot,
      ),
    );
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('every member device decrypts; a removed member is no longer endorsed', async () => {
    const [alice, bob, carol, dave] = [
      await GroupUser.create(platform, await register(), params),
      await GroupUser.create(platform, await register(), params),
      await GroupUser.create(platform, await register(), params),
      await GroupUser.create(platform, await register(), params),
    ];
    const aliceStores = TestSignalStores.forIdentity(alice.account.aciIdentity);
    const aliceAddress = ProtocolAddress.new(alice.account.aci, 1);
    const recipients = [await devicesOf(bob, 1), await devicesOf(carol, 0)];

    // Alice creates the group and receives endorsements of every member.
    const secret = GroupSecretParams.generate();
    const created = expectData<{ createGroup: GroupData }>(
      await alice.request(CREATE_GROUP, {
        auth: alice.auth(secret),
        group: b64(
          signal.Group.encode({
            publicKey: secret.getPublicParams().serialize(),
            title: encryptText(secret, 'Climbing'),
            accessControl: {
              attributes: AccessRequired.MEMBER,
              members: AccessRequired.ADMINISTRATOR,
              addFromInviteLink: AccessRequired.UNSATISFIABLE,
            },
            members: [
              { role: Role.ADMINISTRATOR, presentation: alice.presentation(secret) },
              { role: Role.DEFAULT, presentation: bob.presentation(secret) },
              { role: Role.DEFAULT, presentation: carol.presentation(secret) },
            ],
          }).finish(),
        ),
      }),
      'createGroup',
    ).createGroup;
    const members: Aci[] = [alice.aci, bob.aci, carol.aci];
    const endorsed = alice.endorsements(secret, created, members);
    const tokenFor = (endorsement: GroupSendEndorsement) =>
      endorsement.toFullToken(secret, endorsed.expiration).serialize();

    // Sessions from bundles fetched with each member's own group send token (no account auth).
    const certificate = SenderCertificate.deserialize(
      bytesOf(
        expectData<{ senderCertificate: { certificate: string } }>(
          await postGraphQL(platform.gatewayUrl, '{ senderCertificate { certificate } }', {
            token: alice.account.token,
          }),
          'senderCertificate',
        ).senderCertificate.certificate,
      ),
    );
    const distributionId = randomUUID();
    const distribution = await SenderKeyDistributionMessage.create(
      aliceAddress,
      distributionId,
      aliceStores.senderKeys,
    );
    const addresses: ProtocolAddress[] = [];
    for (const [index, devices] of recipients.entries()) {
      const member = devices[0]!.user;
      const bundle = expectData<{
        preKeyBundle: { identityKey: string; devices: PreKeyBundleDeviceResponse[] };
      }>(
        await postGraphQL(platform.gatewayUrl, BUNDLE, {
          variables: {
            id: member.account.aci,
            access: { groupSendToken: b64(tokenFor(endorsed.endorsements[index + 1]!)) },
          },
        }),
        'preKeyBundle',
      ).preKeyBundle;
      expect(bundle.devices).toHaveLength(devices.length);
      const messages = [];
      for (const device of bundle.devices) {
        const address = ProtocolAddress.new(member.account.aci, device.deviceId);
        await processPreKeyBundle(
          toLibsignalBundle(bundle.identityKey, device),
          address,
          aliceAddress,
          aliceStores.sessions,
          aliceStores.identity,
        );
        addresses.push(address);
        const sealed = await sealedSenderEncryptMessage(
          distribution.serialize(),
          address,
          certificate,
          aliceStores.sessions,
          aliceStores.identity,
        );
        messages.push({
          deviceId: device.deviceId,
          registrationId: device.registrationId,
          type: 'UNIDENTIFIED_SENDER',
          content: b64(sealed),
        });
      }
      expectData(
        await postGraphQL(platform.gatewayUrl, SEALED_SEND, {
          variables: {
            d: member.account.aci,
            i: { timestamp: Date.now(), messages },
            a: { unidentifiedAccessKey: b64(member.account.unidentifiedAccessKey) },
          },
        }),
        'sendMessage',
      );
    }

    // The group message: one sender-key ciphertext, one multi-recipient payload, one token for
    // "everyone but me".
    const text = 'Saturday, 9:00 at the crag';
    const usmc = UnidentifiedSenderMessageContent.new(
      await groupEncrypt(
        aliceAddress,
        distributionId,
        aliceStores.senderKeys,
        new Uint8Array(Buffer.from(text)),
      ),
      certificate,
      ContentHint.Implicit,
      new Uint8Array(randomBytes(32)),
    );
    const payload = await sealedSenderMultiRecipientEncrypt(
      usmc,
      addresses,
      aliceStores.identity,
      aliceStores.sessions,
    );
    // A token for only Bob does not cover the payload's recipients.
    expect(codeOf(await multiSend(payload, tokenFor(endorsed.endorsements[1]!)))).toBe('FORBIDDEN');
    const combinedToken = tokenFor(endorsed.combinedEndorsement);
    expect((await multiSend(payload, combinedToken)).data?.sendMultiRecipientMessage).toEqual({
      __typename: 'MultiRecipientMessageSuccess',
      unknownRecipients: [],
    });

    for (const device of recipients.flat()) {
      const page = expectData<{
        envelopes: {
          more: boolean;
          envelopes: Array<{ guid: string; content: string; serverTimestamp: number }>;
        };
      }>(
        await postGraphQL(platform.gatewayUrl, POLL, { token: device.token }),
        'envelopes',
      ).envelopes;
      expect(page.envelopes).toHaveLength(2);
      const [keyEnvelope, groupEnvelope] = page.envelopes;
      const opened = await sealedSenderDecryptMessage(
        bytesOf(keyEnvelope!.content),
        trustRoot,
        keyEnvelope!.serverTimestamp,
        null,
        device.user.account.aci,
        device.deviceId,
        device.stores.sessions,
        device.stores.identity,
        device.stores.preKeys,
        device.stores.signedPreKeys,
        device.stores.kyberPreKeys,
      );
      await processSenderKeyDistributionMessage(
        ProtocolAddress.new(opened.senderUuid(), opened.deviceId()),
        SenderKeyDistributionMessage.deserialize(opened.message()),
        device.stores.senderKeys,
      );
      const inner = await sealedSenderDecryptToUsmc(
        bytesOf(groupEnvelope!.content),
        device.stores.identity,
      );
      expect(inner.senderCertificate().senderUuid()).toBe(alice.account.aci);
      const plaintext = await groupDecrypt(
        aliceAddress,
        device.stores.senderKeys,
        inner.contents(),
      );
      expect(Buffer.from(plaintext).toString()).toBe(text);
      await acknowledgeEnvelopes(
        platform.gatewayUrl,
        device.token,
        page.envelopes.map((envelope) => envelope.guid),
      );
    }

    // Carol keeps her (pre-removal) endorsements; she is removed and Dave added.
    const carolView = expectData<{ group: GroupData }>(await carol.read(secret), 'group').group;
    const carolEndorsed = carol.endorsements(secret, carolView, members);
    const carolToken = carolEndorsed.combinedEndorsement
      .toFullToken(secret, carolEndorsed.expiration)
      .serialize();
    const changed = expectData<{ modifyGroup: ChangeData }>(
      await alice.modify(secret, {
        version: 1,
        deleteMembers: [{ deletedUserId: carol.userId(secret) }],
        addMembers: [{ added: { role: Role.DEFAULT, presentation: dave.presentation(secret) } }],
      }),
      'modifyGroup',
    ).modifyGroup.group!;
    // The removed member gets no fresh endorsements, and the group's new endorsements leave her
    // out: the old "everyone but me" token does not cover the new member set.
    expect(codeOf((await carol.read(secret)).body)).toBe('FORBIDDEN');
    const now = alice.endorsements(secret, changed, [alice.aci, bob.aci, dave.aci]);
    const newToken = now.combinedEndorsement.toFullToken(secret, now.expiration).serialize();
    const serviceIds = (ids: Aci[]) => ids.map((id) => id.getServiceIdString());
    expect(
      checkGroupSendToken(
        platform.runtime.zkSecretParams,
        newToken,
        serviceIds([bob.aci, dave.aci]),
      ).ok,
    ).toBe(true);
    expect(
      checkGroupSendToken(
        platform.runtime.zkSecretParams,
        newToken,
        serviceIds([bob.aci, carol.aci]),
      ).ok,
    ).toBe(false);
    expect(
      checkGroupSendToken(
        platform.runtime.zkSecretParams,
        combinedToken,
        serviceIds([bob.aci, dave.aci]),
      ).ok,
    ).toBe(false);
    // Carol's old token works only until it expires (endorsements are bearer credentials that
    // the chat servers verify without group state, as in Signal): at expiry it is refused.
    expect(
      checkGroupSendToken(
        platform.runtime.zkSecretParams,
        carolToken,
        serviceIds([alice.aci, bob.aci]),
        carolEndorsed.expiration,
      ),
    ).toEqual({ ok: false, problem: 'expired' });
    // Carol's token cannot reach Dave, who joined after her removal.
    const bundle = await postGraphQL(platform.gatewayUrl, BUNDLE, {
      variables: { id: dave.account.aci, access: { groupSendToken: b64(carolToken) } },
    });
    expect(codeOf(bundle.body)).toBe('FORBIDDEN');
  });
});
