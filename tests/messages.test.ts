import { randomBytes } from 'node:crypto';
import {
  CiphertextMessageType,
  PreKeySignalMessage,
  ProtocolAddress,
  PublicKey,
  SenderCertificate,
  sealedSenderDecryptMessage,
  sealedSenderEncryptMessage,
  SignalMessage,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import { signal } from '@courier/proto';
import {
  ACKNOWLEDGE_ENVELOPES,
  Inbox,
  type EnvelopeEvent,
  TestSignalStores,
  acknowledgeEnvelopes,
  expectData,
  linkTestDevice,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  startSessions,
  type GraphQLResponse,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEND = `mutation ($d: String!, $i: SendMessageInput!, $a: MessageAccess) {
  sendMessage(destination: $d, input: $i, access: $a) {
    __typename
    ... on SendMessageSuccess { needsSync }
    ... on MismatchedDevices { missingDevices extraDevices }
    ... on StaleDevices { staleDevices }
  } }`;
const CERTIFICATE = `query ($n: Boolean) {
  senderCertificate(includeNumber: $n) { certificate expiresAt } }`;

interface SendResult {
  __typename: string;
  needsSync?: boolean;
  missingDevices?: number[];
  extraDevices?: number[];
  staleDevices?: number[];
}
interface OutgoingMessage {
  deviceId: number;
  registrationId: number;
  type: string;
  content: Uint8Array;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytesOf = (value: string) => new Uint8Array(Buffer.from(value, 'base64'));
const codeOf = (body: GraphQLResponse<unknown>) => body.errors?.[0]?.extensions?.['code'];

describe('messages through the gateway', () => {
  let platform: Platform;
  let numbers = 0;
  const register = () =>
    registerTestAccount(platform, `+1415555${String(3000 + numbers++).padStart(4, '0')}`);

  const gql = async <T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown>,
    token: string,
  ): Promise<GraphQLResponse<T>> =>
    (await postGraphQL<T>(platform.gatewayUrl, query, { variables, token })).body;

  const sendRaw = (
    from: { token: string },
    destination: string,
    messages: readonly OutgoingMessage[],
    extra: Record<string, unknown> = {},
  ) =>
    gql<{ sendMessage: SendResult }>(
      SEND,
      {
        d: destination,
        i: {
          timestamp: Date.now(),
          ...extra,
          messages: messages.map((message) => ({ ...message, content: b64(message.content) })),
        },
      },
      from.token,
    );

  const send = async (...args: Parameters<typeof sendRaw>): Promise<SendResult> =>
    expectData({ body: await sendRaw(...args) }, 'sendMessage').sendMessage;

  const ack = (token: string, guids: string[]) =>
    acknowledgeEnvelopes(platform.gatewayUrl, token, guids);

  const stored = (where: { destinationAci?: string; guid?: { in: string[] } }) =>
    platform.runtime.prisma.queuedEnvelope.count({ where });

  const opaque = (account: TestAccount, deviceId = 1): OutgoingMessage => ({
    deviceId,
    registrationId: account.aciIdentity.registrationId,
    type: 'CIPHERTEXT',
    content: new Uint8Array(randomBytes(64)),
  });

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('carries a PQXDH conversation: live delivery, offline drain, acknowledgement deletes', async () => {
    const [alice, bob] = [await register(), await register()];
    const aliceStores = TestSignalStores.forIdentity(alice.aciIdentity);
    const bobStores = TestSignalStores.forIdentity(bob.aciIdentity);
    const aliceAddress = ProtocolAddress.new(alice.aci, 1);
    const bobAddress = ProtocolAddress.new(bob.aci, 1);

    const timestamp = Date.now();
    const bobInbox = new Inbox(platform.gatewayWsUrl, bob.token);
    try {
      expect(await bobInbox.drain()).toEqual([]);

      // Alice fetches Bob's bundle, runs PQXDH and sends the PreKey message.
      const sessions = await startSessions(
        platform.gatewayUrl,
        { token: alice.token, address: aliceAddress },
        aliceStores,
        bob.aci,
        1,
      );
      expect(sessions.map(String)).toEqual([bobAddress.toString()]);
      const first = await signalEncrypt(
        new Uint8Array(Buffer.from('hello Bob')),
        bobAddress,
        aliceAddress,
        aliceStores.sessions,
        aliceStores.identity,
      );
      expect(first.type()).toBe(CiphertextMessageType.PreKey);
      expect(
        await send(
          alice,
          bob.aci,
          [
            {
              deviceId: 1,
              registrationId: bob.aciIdentity.registrationId,
              type: 'PREKEY_BUNDLE',
              content: first.serialize(),
            },
          ],
          { timestamp, urgent: false },
        ),
      ).toEqual({ __typename: 'SendMessageSuccess', needsSync: false });

      const received = await bobInbox.next();
      expect(received).toMatchObject({
        __typename: 'Envelope',
        type: 'PREKEY_BUNDLE',
        sourceServiceId: alice.aci,
        sourceDevice: 1,
        destinationServiceId: bob.aci,
        clientTimestamp: timestamp,
        urgent: false,
        story: false,
        ephemeral: false,
      });
      const decoded = signal.Envelope.decode(bytesOf(received.protobuf));
      expect(decoded.serverGuid).toBe(received.guid);
      expect(Buffer.from(decoded.content).toString('base64')).toBe(received.content);
      // Durable until acknowledged.
      expect(await stored({ guid: { in: [received.guid] } })).toBe(1);
      const plaintext = await signalDecryptPreKey(
        PreKeySignalMessage.deserialize(bytesOf(received.content!)),
        aliceAddress,
        bobAddress,
        bobStores.sessions,
        bobStores.identity,
        bobStores.preKeys,
        bobStores.signedPreKeys,
        bobStores.kyberPreKeys,
      );
      expect(Buffer.from(plaintext).toString()).toBe('hello Bob');
      expect(await ack(bob.token, [received.guid])).toBe(1);
      expect(await stored({ guid: { in: [received.guid] } })).toBe(0);
    } finally {
      await bobInbox.close();
    }

    // Bob replies twice while Alice is offline; she drains both, in order, then QueueEmpty.
    const replies = ['hi Alice', 'how are you?'];
    for (const text of replies) {
      const reply = await signalEncrypt(
        new Uint8Array(Buffer.from(text)),
        aliceAddress,
        bobAddress,
        bobStores.sessions,
        bobStores.identity,
      );
      expect(reply.type()).toBe(CiphertextMessageType.Whisper);
      expect(
        (
          await send(bob, alice.aci, [
            {
              deviceId: 1,
              registrationId: alice.aciIdentity.registrationId,
              type: 'CIPHERTEXT',
              content: reply.serialize(),
            },
          ])
        ).__typename,
      ).toBe('SendMessageSuccess');
    }
    // Alice's queue: the server delivery receipt for her first message (Bob acknowledged it),
    // then Bob's two replies.
    expect(await stored({ destinationAci: alice.aci })).toBe(3);

    const aliceInbox = new Inbox(platform.gatewayWsUrl, alice.token);
    try {
      const [receipt, ...drained] = await aliceInbox.drain();
      expect(receipt).toMatchObject({
        type: 'SERVER_DELIVERY_RECEIPT',
        sourceServiceId: bob.aci,
        sourceDevice: 1,
        destinationServiceId: alice.aci,
        clientTimestamp: timestamp,
        content: null,
      });
      expect(drained.map((envelope) => envelope.type)).toEqual(['CIPHERTEXT', 'CIPHERTEXT']);
      const texts: string[] = [];
      for (const envelope of drained) {
        expect(envelope.sourceServiceId).toBe(bob.aci);
        const plaintext = await signalDecrypt(
          SignalMessage.deserialize(bytesOf(envelope.content!)),
          bobAddress,
          aliceAddress,
          aliceStores.sessions,
          aliceStores.identity,
        );
        texts.push(Buffer.from(plaintext).toString());
      }
      expect(texts).toEqual(replies);
      const guids = [receipt!, ...drained].map((envelope) => envelope.guid);
      expect(await ack(alice.token, guids)).toBe(3);
      expect(await ack(alice.token, guids)).toBe(0);
      expect(await stored({ guid: { in: guids } })).toBe(0);
    } finally {
      await aliceInbox.close();
    }
    // Bob gets one receipt per reply (none for Alice's acknowledgement of a receipt).
    const bobReceipts = await platform.runtime.prisma.queuedEnvelope.findMany({
      where: { destinationAci: bob.aci },
    });
    expect(
      bobReceipts.map((row) => signal.Envelope.decode(new Uint8Array(row.envelope)).type),
    ).toEqual([
      signal.Envelope.Type.SERVER_DELIVERY_RECEIPT,
      signal.Envelope.Type.SERVER_DELIVERY_RECEIPT,
    ]);
  });

  it('answers MismatchedDevices and StaleDevices, refuses bad input, and stores nothing', async () => {
    const [alice, bob] = [await register(), await register()];
    expect(await send(alice, bob.aci, [opaque(bob, 2)])).toEqual({
      __typename: 'MismatchedDevices',
      missingDevices: [1],
      extraDevices: [2],
    });
    expect(await send(alice, bob.aci, [])).toEqual({
      __typename: 'MismatchedDevices',
      missingDevices: [1],
      extraDevices: [],
    });
    const stale = { ...opaque(bob), registrationId: (bob.aciIdentity.registrationId % 0x3ffe) + 1 };
    expect(await send(alice, bob.aci, [stale])).toEqual({
      __typename: 'StaleDevices',
      staleDevices: [1],
    });
    // A PNI destination is checked against the PNI registration id.
    expect(await send(alice, `PNI:${bob.pni}`, [opaque(bob)])).toEqual({
      __typename: 'StaleDevices',
      staleDevices: [1],
    });

    const oversize = { ...opaque(bob), content: new Uint8Array(96 * 1024 + 1) };
    expect(codeOf(await sendRaw(alice, bob.aci, [oversize]))).toBe('PAYLOAD_TOO_LARGE');
    const receipt = { ...opaque(bob), type: 'SERVER_DELIVERY_RECEIPT' };
    expect(codeOf(await sendRaw(alice, bob.aci, [receipt]))).toBe('BAD_USER_INPUT');
    expect(codeOf(await sendRaw(alice, bob.aci, [opaque(bob), opaque(bob)]))).toBe(
      'BAD_USER_INPUT',
    );
    expect(codeOf(await sendRaw(alice, 'not-a-service-id', [opaque(bob)]))).toBe('BAD_USER_INPUT');
    expect(codeOf(await sendRaw(alice, crypto.randomUUID(), [opaque(bob)]))).toBe('NOT_FOUND');
    expect(
      codeOf(
        (await postGraphQL(platform.gatewayUrl, SEND, { variables: { d: bob.aci, i: {} } })).body,
      ),
    ).toBeDefined();
    expect(await stored({ destinationAci: bob.aci })).toBe(0);

    // Online-only messages are never stored.
    expect((await send(alice, bob.aci, [opaque(bob)], { online: true })).__typename).toBe(
      'SendMessageSuccess',
    );
    expect(await stored({ destinationAci: bob.aci })).toBe(0);
  });

  it('delivers every envelope exactly once across the drain/live boundary', async () => {
    const [alice, bob] = [await register(), await register()];
    const count = 40;
    const contents = Array.from({ length: count }, () => opaque(bob));
    // Half are stored before Bob connects; the rest race with his subscription's drain.
    for (const message of contents.slice(0, count / 2)) await send(alice, bob.aci, [message]);
    const inbox = new Inbox(platform.gatewayWsUrl, bob.token);
    try {
      const sending = Promise.all(
        contents.slice(count / 2).map((message) => send(alice, bob.aci, [message])),
      );
      const seen: EnvelopeEvent[] = [];
      while (seen.length < count) {
        const event = await inbox.next();
        if (event.__typename === 'Envelope') seen.push(event);
      }
      await sending;
      const texts = seen.map((event) => event.content!);
      expect(new Set(texts).size).toBe(count);
      expect(new Set(texts)).toEqual(new Set(contents.map((message) => b64(message.content))));
      // Stored-before-connect envelopes come first, in server-timestamp order (ties in one
      // millisecond are ordered by guid).
      const early = seen.slice(0, count / 2);
      expect(new Set(early.map((event) => event.content))).toEqual(
        new Set(contents.slice(0, count / 2).map((message) => b64(message.content))),
      );
      const times = early.map((event) => event.serverTimestamp);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    } finally {
      await inbox.close();
    }
  });

  it("acknowledges only the caller device's own envelopes", async () => {
    const [alice, bob] = [await register(), await register()];
    await send(alice, bob.aci, [opaque(bob)]);
    const row = await platform.runtime.prisma.queuedEnvelope.findFirstOrThrow({
      where: { destinationAci: bob.aci },
    });
    expect(await ack(alice.token, [row.guid])).toBe(0);
    expect(await stored({ guid: { in: [row.guid] } })).toBe(1);
    const tooMany = Array.from({ length: 101 }, () => crypto.randomUUID());
    expect(codeOf(await gql(ACKNOWLEDGE_ENVELOPES, { g: tooMany }, bob.token))).toBe(
      'BAD_USER_INPUT',
    );
    expect(await ack(bob.token, [row.guid])).toBe(1);
    expect(await stored({ guid: { in: [row.guid] } })).toBe(0);
  });

  it("drops a blocked sender's message while answering success", async () => {
    const [alice, bob] = [await register(), await register()];
    const block = (mutation: string) =>
      gql(`mutation ($a: ID!) { ${mutation}(aci: $a) }`, { a: alice.aci }, bob.token);
    expect((await block('blockAccount')).errors).toBeUndefined();
    const bobInbox = new Inbox(platform.gatewayWsUrl, bob.token);
    try {
      expect(await bobInbox.drain()).toEqual([]);
      expect((await send(alice, bob.aci, [opaque(bob)])).__typename).toBe('SendMessageSuccess');
      expect(await stored({ destinationAci: bob.aci })).toBe(0);
      // The next envelope Bob sees is the one sent after the block was lifted.
      expect((await block('unblockAccount')).errors).toBeUndefined();
      const marker = opaque(bob);
      await send(alice, bob.aci, [marker]);
      const received = await bobInbox.next();
      expect(received.content).toBe(b64(marker.content));
    } finally {
      await bobInbox.close();
    }
  });

  it("sends sync copies to the sender's other devices only", async () => {
    const [carol, dave] = [await register(), await register()];
    const linked = await linkTestDevice(platform, carol);
    const toLinked: OutgoingMessage = {
      deviceId: linked.deviceId,
      registrationId: linked.registrationId,
      type: 'CIPHERTEXT',
      content: new Uint8Array(randomBytes(32)),
    };
    expect(await send(carol, carol.aci, [opaque(carol), toLinked])).toEqual({
      __typename: 'MismatchedDevices',
      missingDevices: [],
      extraDevices: [1],
    });
    expect(await send(carol, carol.aci, [toLinked])).toEqual({
      __typename: 'SendMessageSuccess',
      needsSync: false,
    });
    expect(await send(carol, dave.aci, [opaque(dave)])).toEqual({
      __typename: 'SendMessageSuccess',
      needsSync: true,
    });
    const inbox = new Inbox(platform.gatewayWsUrl, linked.token);
    try {
      const [copy] = await inbox.drain();
      expect(copy).toMatchObject({ sourceServiceId: carol.aci, sourceDevice: 1 });
      expect(copy!.content).toBe(b64(toLinked.content));
    } finally {
      await inbox.close();
    }
    expect(await stored({ destinationAci: carol.aci })).toBe(1);
  });

  it('carries a sealed-sender message validated against the published trust root', async () => {
    const [alice, bob] = [await register(), await register()];
    const aliceStores = TestSignalStores.forIdentity(alice.aciIdentity);
    const bobStores = TestSignalStores.forIdentity(bob.aciIdentity);
    const bobAddress = ProtocolAddress.new(bob.aci, 1);

    // The trust root is public; the certificate needs Alice's token.
    const trustRoot = expectData<{ senderCertificateTrustRoot: string }>(
      await postGraphQL(platform.gatewayUrl, '{ senderCertificateTrustRoot }'),
      'senderCertificateTrustRoot',
    ).senderCertificateTrustRoot;
    expect(
      codeOf((await postGraphQL(platform.gatewayUrl, CERTIFICATE, { variables: {} })).body),
    ).toBe('UNAUTHENTICATED');
    const before = Date.now();
    const issued = expectData<{ senderCertificate: { certificate: string; expiresAt: number } }>(
      { body: await gql(CERTIFICATE, { n: true }, alice.token) },
      'senderCertificate',
    ).senderCertificate;
    const certificate = SenderCertificate.deserialize(bytesOf(issued.certificate));
    expect(certificate.senderUuid()).toBe(alice.aci);
    expect(certificate.senderDeviceId()).toBe(1);
    expect(certificate.senderE164()).toBe(alice.number);
    expect(certificate.expiration()).toBe(issued.expiresAt);
    expect(issued.expiresAt - before).toBeGreaterThanOrEqual(7 * 24 * 3600 * 1000 - 1000);
    expect(certificate.validate(PublicKey.deserialize(bytesOf(trustRoot)), Date.now())).toBe(true);
    const withoutNumber = expectData<{ senderCertificate: { certificate: string } }>(
      { body: await gql(CERTIFICATE, {}, alice.token) },
      'senderCertificate',
    ).senderCertificate;
    expect(
      SenderCertificate.deserialize(bytesOf(withoutNumber.certificate)).senderE164(),
    ).toBeNull();

    // Alice builds a session from Bob's bundle and seals a message for him.
    await startSessions(
      platform.gatewayUrl,
      { token: alice.token, address: ProtocolAddress.new(alice.aci, 1) },
      aliceStores,
      bob.aci,
      1,
    );
    const sealed = await sealedSenderEncryptMessage(
      new Uint8Array(Buffer.from('sealed hello')),
      bobAddress,
      certificate,
      aliceStores.sessions,
      aliceStores.identity,
    );
    const timestamp = Date.now();
    const sealedSend = (
      access: Uint8Array | undefined,
      token?: string,
      type = 'UNIDENTIFIED_SENDER',
    ) =>
      postGraphQL<{ sendMessage: SendResult }>(platform.gatewayUrl, SEND, {
        variables: {
          d: bob.aci,
          i: {
            timestamp,
            messages: [
              {
                deviceId: 1,
                registrationId: bob.aciIdentity.registrationId,
                type,
                content: b64(sealed),
              },
            ],
          },
          ...(access ? { a: { unidentifiedAccessKey: b64(access) } } : {}),
        },
        ...(token ? { token } : {}),
      });
    const wrongKey = new Uint8Array(randomBytes(16));
    const unknown = crypto.randomUUID();
    // Refusals change nothing and do not tell a wrong key from an unknown account.
    expect(codeOf((await sealedSend(wrongKey)).body)).toBe('UNAUTHENTICATED');
    expect(codeOf((await sealedSend(new Uint8Array(15))).body)).toBe('UNAUTHENTICATED');
    expect(codeOf((await sealedSend(undefined)).body)).toBe('UNAUTHENTICATED');
    expect(
      codeOf(
        (
          await postGraphQL(platform.gatewayUrl, SEND, {
            variables: {
              d: unknown,
              i: { timestamp, messages: [] },
              a: { unidentifiedAccessKey: b64(bob.unidentifiedAccessKey) },
            },
          })
        ).body,
      ),
    ).toBe('UNAUTHENTICATED');
    expect(codeOf((await sealedSend(bob.unidentifiedAccessKey, alice.token)).body)).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      codeOf((await sealedSend(bob.unidentifiedAccessKey, undefined, 'CIPHERTEXT')).body),
    ).toBe('BAD_USER_INPUT');
    expect(await stored({ destinationAci: bob.aci })).toBe(0);

    expect(
      expectData(await sealedSend(bob.unidentifiedAccessKey), 'sendMessage').sendMessage,
    ).toEqual({ __typename: 'SendMessageSuccess', needsSync: false });
    // The stored envelope has no sender.
    const row = await platform.runtime.prisma.queuedEnvelope.findFirstOrThrow({
      where: { destinationAci: bob.aci },
    });
    const storedEnvelope = signal.Envelope.decode(new Uint8Array(row.envelope));
    expect(storedEnvelope.type).toBe(signal.Envelope.Type.UNIDENTIFIED_SENDER);
    expect(storedEnvelope.sourceServiceId).toBe('');
    expect(storedEnvelope.sourceDevice).toBe(0);

    const bobInbox = new Inbox(platform.gatewayWsUrl, bob.token);
    try {
      const [received] = await bobInbox.drain();
      expect(received).toMatchObject({
        type: 'UNIDENTIFIED_SENDER',
        sourceServiceId: null,
        sourceDevice: null,
        destinationServiceId: bob.aci,
        clientTimestamp: timestamp,
      });
      const opened = await sealedSenderDecryptMessage(
        bytesOf(received!.content!),
        PublicKey.deserialize(bytesOf(trustRoot)),
        received!.serverTimestamp,
        null,
        bob.aci,
        1,
        bobStores.sessions,
        bobStores.identity,
        bobStores.preKeys,
        bobStores.signedPreKeys,
        bobStores.kyberPreKeys,
      );
      expect(opened.senderUuid()).toBe(alice.aci);
      expect(opened.deviceId()).toBe(1);
      expect(Buffer.from(opened.message()).toString()).toBe('sealed hello');
      expect(await ack(bob.token, [received!.guid])).toBe(1);
    } finally {
      await bobInbox.close();
    }
    // No receipt: the server does not know who sent it.
    expect(await stored({ destinationAci: alice.aci })).toBe(0);
  });

  it('purges envelopes whose TTL ran out, and only those', async () => {
    const [alice, bob] = [await register(), await register()];
    await send(alice, bob.aci, [opaque(bob)]);
    await send(alice, bob.aci, [opaque(bob)]);
    const [expired, fresh] = await platform.runtime.prisma.queuedEnvelope.findMany({
      where: { destinationAci: bob.aci },
      orderBy: { serverTimestamp: 'asc' },
    });
    // Move the first envelope's expiry into the past (as if 30 days had gone by).
    await platform.runtime.prisma.queuedEnvelope.update({
      where: { guid: expired!.guid },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(await platform.messages[0]!.delivery.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await stored({ guid: { in: [expired!.guid] } })).toBe(0);
    expect(await stored({ guid: { in: [fresh!.guid] } })).toBe(1);
    expect(await platform.messages[0]!.delivery.purgeExpired()).toBe(0);
  });

  it('sends a server delivery receipt to every device of the sender after an ack', async () => {
    const [carol, dave] = [await register(), await register()];
    const linked = await linkTestDevice(platform, carol);
    const timestamp = Date.now() - 5000;
    await send(carol, dave.aci, [opaque(dave)], { timestamp });
    const linkedInbox = new Inbox(platform.gatewayWsUrl, linked.token);
    try {
      expect(await linkedInbox.drain()).toEqual([]);
      const row = await platform.runtime.prisma.queuedEnvelope.findFirstOrThrow({
        where: { destinationAci: dave.aci },
      });
      expect(await ack(dave.token, [row.guid])).toBe(1);
      // Live on the connected device, stored for both.
      const receipt = await linkedInbox.next();
      expect(receipt).toMatchObject({
        type: 'SERVER_DELIVERY_RECEIPT',
        sourceServiceId: dave.aci,
        sourceDevice: 1,
        destinationServiceId: carol.aci,
        clientTimestamp: timestamp,
        content: null,
        ephemeral: false,
      });
      const rows = await platform.runtime.prisma.queuedEnvelope.findMany({
        where: { destinationAci: carol.aci },
        orderBy: { destinationDeviceId: 'asc' },
      });
      expect(rows.map((stored) => stored.destinationDeviceId)).toEqual([1, linked.deviceId]);
      expect(await ack(linked.token, [receipt.guid])).toBe(1);
    } finally {
      await linkedInbox.close();
    }
    // Acknowledging a receipt sends none back.
    expect(await stored({ destinationAci: dave.aci })).toBe(0);
  });
});
