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
  processSenderKeyDistributionMessage,
  sealedSenderDecryptMessage,
  sealedSenderDecryptToUsmc,
  sealedSenderEncryptMessage,
  sealedSenderMultiRecipientEncrypt,
} from '@signalapp/libsignal-client';
import { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import {
  ClientZkGroupCipher,
  GroupSecretParams,
  GroupSendDerivedKeyPair,
  GroupSendEndorsementsResponse,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { signal } from '@courier/proto';
import {
  Inbox,
  TestSignalStores,
  acknowledgeEnvelopes,
  combinedAccessKey,
  expectData,
  linkTestDevice,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  startSessions as startSessionsWith,
  type GraphQLResponse,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MULTI_SEND = `mutation ($p: Base64!, $t: Timestamp!, $token: Base64, $a: MessageAccess,
    $story: Boolean, $online: Boolean) {
  sendMultiRecipientMessage(payload: $p, timestamp: $t, groupSendToken: $token, access: $a,
      story: $story, online: $online) {
    __typename
    ... on MultiRecipientMessageSuccess { unknownRecipients }
    ... on MultiRecipientMismatchedDevices { recipients { serviceId missingDevices extraDevices } }
    ... on MultiRecipientStaleDevices { recipients { serviceId staleDevices } }
  } }`;
const SEALED_SEND = `mutation ($d: String!, $i: SendMessageInput!, $a: MessageAccess) {
  sendMessage(destination: $d, input: $i, access: $a) { __typename } }`;
const POLL = `query ($limit: Int, $wait: Int) { envelopes(limit: $limit, waitSeconds: $wait) {
  more envelopes { guid type content serverTimestamp sourceServiceId destinationServiceId } } }`;

type MultiResult = {
  __typename: string;
  unknownRecipients?: string[];
  recipients?: Array<{
    serviceId: string;
    missingDevices?: number[];
    extraDevices?: number[];
    staleDevices?: number[];
  }>;
};

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytesOf = (value: string) => new Uint8Array(Buffer.from(value, 'base64'));
const codeOf = (body: GraphQLResponse<unknown>) => body.errors?.[0]?.extensions?.['code'];
const DAY_MS = 24 * 3600 * 1000;

/** One receiving device: its token and its libsignal stores. */
interface Device {
  readonly account: TestAccount;
  readonly deviceId: number;
  readonly registrationId: number;
  readonly token: string;
  readonly stores: TestSignalStores;
}

describe('multi-recipient sealed sender through the gateway', () => {
  let platform: Platform;
  let numbers = 0;
  let trustRoot: PublicKey;
  const register = () =>
    registerTestAccount(platform, `+1415556${String(1000 + numbers++).padStart(4, '0')}`);

  const multiSend = async (variables: Record<string, unknown>) =>
    (
      await postGraphQL<{ sendMultiRecipientMessage: MultiResult }>(
        platform.gatewayUrl,
        MULTI_SEND,
        { variables: { t: Date.now(), ...variables } },
      )
    ).body;

  const storedFor = (acis: string[]) =>
    platform.runtime.prisma.queuedEnvelope.count({ where: { destinationAci: { in: acis } } });

  /** An account with a primary and `linked` linked devices, each with its own stores. */
  const accountWithDevices = async (linked: number): Promise<Device[]> => {
    const account = await register();
    const devices: Device[] = [
      {
        account,
        deviceId: 1,
        registrationId: account.aciIdentity.registrationId,
        token: account.token,
        stores: TestSignalStores.forIdentity(account.aciIdentity),
      },
    ];
    for (let i = 0; i < linked; i++) {
      const device = await linkTestDevice(platform, account);
      devices.push({
        account,
        deviceId: device.deviceId,
        registrationId: device.registrationId,
        token: device.token,
        stores: device.aciStores,
      });
    }
    return devices;
  };

  /** The sender's side: sessions with every device of `recipient` from its prekey bundles. */
  const startSessions = (
    sender: TestAccount,
    senderStores: TestSignalStores,
    recipient: TestAccount,
  ): Promise<ProtocolAddress[]> =>
    startSessionsWith(
      platform.gatewayUrl,
      { token: sender.token, address: ProtocolAddress.new(sender.aci, 1) },
      senderStores,
      recipient.aci,
    );

  const senderCertificateOf = async (account: TestAccount) =>
    SenderCertificate.deserialize(
      bytesOf(
        expectData<{ senderCertificate: { certificate: string } }>(
          await postGraphQL(platform.gatewayUrl, '{ senderCertificate { certificate } }', {
            token: account.token,
          }),
          'senderCertificate',
        ).senderCertificate.certificate,
      ),
    );

  /** Sealed-sender content of a sender-key message from `sender` (a fresh distribution). */
  const groupContent = async (
    sender: TestAccount,
    stores: TestSignalStores,
    certificate: SenderCertificate,
    bytes: number[],
  ) => {
    const address = ProtocolAddress.new(sender.aci, 1);
    const distributionId = randomUUID();
    await SenderKeyDistributionMessage.create(address, distributionId, stores.senderKeys);
    return UnidentifiedSenderMessageContent.new(
      await groupEncrypt(address, distributionId, stores.senderKeys, new Uint8Array(bytes)),
      certificate,
      ContentHint.Implicit,
      null,
    );
  };

  beforeAll(async () => {
    platform = await startPlatform({ messagesAccountCacheTtlMs: 0 });
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

  it('delivers a sender-key group message to three accounts (five devices), each decrypts', async () => {
    const alice = await register();
    const aliceStores = TestSignalStores.forIdentity(alice.aciIdentity);
    const aliceAddress = ProtocolAddress.new(alice.aci, 1);
    const recipients = [
      await accountWithDevices(1),
      await accountWithDevices(1),
      await accountWithDevices(0),
    ];
    const devices = recipients.flat();
    expect(devices).toHaveLength(5);
    const certificate = await senderCertificateOf(alice);

    // Sessions with every device, then the sender key travels in 1:1 sealed-sender messages.
    const distributionId = randomUUID();
    const distribution = await SenderKeyDistributionMessage.create(
      aliceAddress,
      distributionId,
      aliceStores.senderKeys,
    );
    const addresses: ProtocolAddress[] = [];
    for (const accountDevices of recipients) {
      const account = accountDevices[0]!.account;
      const accountAddresses = await startSessions(alice, aliceStores, account);
      addresses.push(...accountAddresses);
      const messages = [];
      for (const device of accountDevices) {
        const sealed = await sealedSenderEncryptMessage(
          distribution.serialize(),
          ProtocolAddress.new(account.aci, device.deviceId),
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
            d: account.aci,
            i: { timestamp: Date.now(), messages },
            a: { unidentifiedAccessKey: b64(account.unidentifiedAccessKey) },
          },
        }),
        'sendMessage',
      );
    }

    const groupText = 'hello group, from Alice';
    const groupMessage = await groupEncrypt(
      aliceAddress,
      distributionId,
      aliceStores.senderKeys,
      new Uint8Array(Buffer.from(groupText)),
    );
    const usmc = UnidentifiedSenderMessageContent.new(
      groupMessage,
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
    const accounts = recipients.map((accountDevices) => accountDevices[0]!.account);
    const combined = combinedAccessKey(accounts.map((account) => account.unidentifiedAccessKey));

    // A wrong combined key, an access token, or no access at all: refused, nothing stored.
    const before = await storedFor(accounts.map((account) => account.aci));
    expect(before).toBe(5);
    const wrong = new Uint8Array(combined);
    wrong[0]! ^= 1;
    expect(
      codeOf(await multiSend({ p: b64(payload), a: { unidentifiedAccessKey: b64(wrong) } })),
    ).toBe('UNAUTHENTICATED');
    expect(codeOf(await multiSend({ p: b64(payload) }))).toBe('UNAUTHENTICATED');
    expect(
      codeOf(
        (
          await postGraphQL(platform.gatewayUrl, MULTI_SEND, {
            variables: {
              p: b64(payload),
              t: Date.now(),
              a: { unidentifiedAccessKey: b64(combined) },
            },
            token: alice.token,
          })
        ).body,
      ),
    ).toBe('UNAUTHENTICATED');
    expect(await storedFor(accounts.map((account) => account.aci))).toBe(before);

    const sent = await multiSend({ p: b64(payload), a: { unidentifiedAccessKey: b64(combined) } });
    expect(sent.data?.sendMultiRecipientMessage).toEqual({
      __typename: 'MultiRecipientMessageSuccess',
      unknownRecipients: [],
    });
    // Stored without a sender, one per device.
    const rows = await platform.runtime.prisma.queuedEnvelope.findMany({
      where: { destinationAci: { in: accounts.map((account) => account.aci) } },
    });
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      const envelope = signal.Envelope.decode(new Uint8Array(row.envelope));
      expect(envelope.type).toBe(signal.Envelope.Type.UNIDENTIFIED_SENDER);
      expect(envelope.sourceServiceId).toBe('');
    }

    // Every device: subscription (or, for the last one, the long poll) drains the sender key,
    // then the group message, and decrypts both.
    for (const [index, device] of devices.entries()) {
      let received: Array<{ guid: string; content: string | null; serverTimestamp: number }>;
      if (index === devices.length - 1) {
        const page = expectData<{
          envelopes: {
            more: boolean;
            envelopes: Array<{ guid: string; content: string; serverTimestamp: number }>;
          };
        }>(
          await postGraphQL(platform.gatewayUrl, POLL, {
            variables: { limit: 10 },
            token: device.token,
          }),
          'envelopes',
        ).envelopes;
        expect(page.more).toBe(false);
        received = page.envelopes;
      } else {
        const inbox = new Inbox(platform.gatewayWsUrl, device.token);
        try {
          received = await inbox.drain();
        } finally {
          await inbox.close();
        }
      }
      expect(received).toHaveLength(2);
      const [keyEnvelope, groupEnvelope] = received;
      const opened = await sealedSenderDecryptMessage(
        bytesOf(keyEnvelope!.content!),
        trustRoot,
        keyEnvelope!.serverTimestamp,
        null,
        device.account.aci,
        device.deviceId,
        device.stores.sessions,
        device.stores.identity,
        device.stores.preKeys,
        device.stores.signedPreKeys,
        device.stores.kyberPreKeys,
      );
      expect(opened.senderUuid()).toBe(alice.aci);
      await processSenderKeyDistributionMessage(
        aliceAddress,
        SenderKeyDistributionMessage.deserialize(opened.message()),
        device.stores.senderKeys,
      );
      const inner = await sealedSenderDecryptToUsmc(
        bytesOf(groupEnvelope!.content!),
        device.stores.identity,
      );
      expect(inner.senderCertificate().validate(trustRoot, Date.now())).toBe(true);
      expect(inner.senderCertificate().senderUuid()).toBe(alice.aci);
      const plaintext = await groupDecrypt(
        aliceAddress,
        device.stores.senderKeys,
        inner.contents(),
      );
      expect(Buffer.from(plaintext).toString()).toBe(groupText);
      expect(
        await acknowledgeEnvelopes(
          platform.gatewayUrl,
          device.token,
          received.map((envelope) => envelope.guid),
        ),
      ).toBe(2);
    }
    expect(await storedFor(accounts.map((account) => account.aci))).toBe(0);
  });

  it('checks every recipient: mismatched and stale devices per recipient, bad payloads', async () => {
    const alice = await register();
    const aliceStores = TestSignalStores.forIdentity(alice.aciIdentity);
    const [bobDevices, carolDevices] = [await accountWithDevices(1), await accountWithDevices(0)];
    const bob = bobDevices[0]!.account;
    const carol = carolDevices[0]!.account;
    const certificate = await senderCertificateOf(alice);
    const bobAddresses = await startSessions(alice, aliceStores, bob);
    const carolAddresses = await startSessions(alice, aliceStores, carol);
    const usmc = await groupContent(alice, aliceStores, certificate, [1, 2, 3]);
    const access = {
      unidentifiedAccessKey: b64(
        combinedAccessKey([bob, carol].map((a) => a.unidentifiedAccessKey)),
      ),
    };
    const encrypt = (addresses: ProtocolAddress[]) =>
      sealedSenderMultiRecipientEncrypt(
        usmc,
        addresses,
        aliceStores.identity,
        aliceStores.sessions,
      );

    // Bob's linked device left out: Bob is mismatched, Carol is fine.
    const missing = await encrypt([bobAddresses[0]!, ...carolAddresses]);
    expect(
      (await multiSend({ p: b64(missing), a: access })).data?.sendMultiRecipientMessage,
    ).toEqual({
      __typename: 'MultiRecipientMismatchedDevices',
      recipients: [{ serviceId: bob.aci, missingDevices: [2], extraDevices: [] }],
    });

    // Carol's device takes a new registration id: the one in Alice's session is stale.
    expectData(
      await postGraphQL(
        platform.gatewayUrl,
        'mutation ($i: AccountAttributesInput!) { setAccountAttributes(input: $i) { device { id } } }',
        {
          variables: { i: { registrationId: (carol.aciIdentity.registrationId % 0x3ffe) + 1 } },
          token: carol.token,
        },
      ),
      'setAccountAttributes',
    );
    const stale = await encrypt([...bobAddresses, ...carolAddresses]);
    expect((await multiSend({ p: b64(stale), a: access })).data?.sendMultiRecipientMessage).toEqual(
      {
        __typename: 'MultiRecipientStaleDevices',
        recipients: [{ serviceId: carol.aci, staleDevices: [1] }],
      },
    );

    // Malformed and oversize payloads.
    expect(codeOf(await multiSend({ p: b64(randomBytes(200)), a: access }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await multiSend({ p: b64(randomBytes(256 * 1024 + 1)), a: access }))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect(await storedFor([bob.aci, carol.aci])).toBe(0);
  });

  it('accepts a group send token for exactly its recipients and reports unknown ones', async () => {
    const alice = await register();
    const aliceStores = TestSignalStores.forIdentity(alice.aciIdentity);
    const [bob, carol] = [await register(), await register()];
    const certificate = await senderCertificateOf(alice);
    const addresses = [
      ...(await startSessions(alice, aliceStores, bob)),
      ...(await startSessions(alice, aliceStores, carol)),
    ];

    // Play the groups server: endorsements for the members Alice, Bob and Carol.
    const zk = platform.runtime.zkSecretParams;
    const groupSecretParams = GroupSecretParams.generate();
    const cipher = new ClientZkGroupCipher(groupSecretParams);
    const members = [alice, bob, carol].map((account) => Aci.parseFromServiceIdString(account.aci));
    const expiration = new Date((Math.floor(Date.now() / DAY_MS) + 2) * DAY_MS);
    const response = GroupSendEndorsementsResponse.issue(
      members.map((member) => cipher.encryptServiceId(member)),
      GroupSendDerivedKeyPair.forExpiration(expiration, zk),
    );
    const received = response.receiveWithServiceIds(
      members,
      members[0]!,
      groupSecretParams,
      zk.getPublicParams(),
    );
    const token = received.combinedEndorsement.toFullToken(groupSecretParams, expiration);
    const bobOnly = received.endorsements[1]!.toFullToken(groupSecretParams, expiration);

    const usmc = await groupContent(alice, aliceStores, certificate, [4, 5, 6]);
    const payload = await sealedSenderMultiRecipientEncrypt(
      usmc,
      addresses,
      aliceStores.identity,
      aliceStores.sessions,
    );
    // A token for Bob alone does not cover Carol; a forged one is malformed.
    expect(codeOf(await multiSend({ p: b64(payload), token: b64(bobOnly.serialize()) }))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await multiSend({ p: b64(payload), token: b64(randomBytes(60)) }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await storedFor([bob.aci, carol.aci])).toBe(0);
    expect(
      (await multiSend({ p: b64(payload), token: b64(token.serialize()) })).data
        ?.sendMultiRecipientMessage,
    ).toEqual({ __typename: 'MultiRecipientMessageSuccess', unknownRecipients: [] });
    expect(await storedFor([bob.aci, carol.aci])).toBe(2);

    // Carol deletes her account: the same token still covers her, and she is reported unknown.
    expectData(
      await postGraphQL(platform.gatewayUrl, 'mutation { deleteAccount }', { token: carol.token }),
      'deleteAccount',
    );
    const again = await multiSend({ p: b64(payload), token: b64(token.serialize()) });
    expect(again.data?.sendMultiRecipientMessage).toEqual({
      __typename: 'MultiRecipientMessageSuccess',
      unknownRecipients: [carol.aci],
    });
    expect(await storedFor([bob.aci])).toBe(2);
  });
});
