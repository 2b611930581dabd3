import {
  CiphertextMessageType,
  PreKeySignalMessage,
  ProtocolAddress,
  SignalMessage,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import {
  Inbox,
  TestSignalStores,
  acknowledgeEnvelopes,
  expectData,
  linkTestDevice,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  startSessions,
  type EnvelopeEvent,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEND = `mutation ($d: String!, $i: SendMessageInput!) {
  sendMessage(destination: $d, input: $i) {
    __typename ... on SendMessageSuccess { needsSync } } }`;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytesOf = (value: string) => new Uint8Array(Buffer.from(value, 'base64'));

/** One client device: its stores, its inbox while online, and what it decrypted. */
interface Device {
  readonly name: string;
  readonly account: TestAccount;
  readonly deviceId: number;
  readonly registrationId: number;
  readonly token: string;
  readonly stores: TestSignalStores;
  readonly address: ProtocolAddress;
  inbox?: Inbox;
  /** Plaintexts by `<sender aci>.<sender device>@<timestamp>`. */
  readonly decrypted: Map<string, string>;
  /** Server delivery receipts: `<receipt source aci>.<device>@<timestamp>`. */
  readonly receipts: Set<string>;
}

const keyOf = (aci: string, deviceId: number, timestamp: number) =>
  `${aci}.${deviceId}@${timestamp}`;

describe('a Double Ratchet conversation between two accounts with two devices each', () => {
  let platform: Platform;
  let timestamps = Date.now();

  const makeDevices = async (name: string, number: string): Promise<[Device, Device]> => {
    const account = await registerTestAccount(platform, number);
    const linked = await linkTestDevice(platform, account);
    return [
      {
        account,
        name: `${name}1`,
        deviceId: 1,
        registrationId: account.aciIdentity.registrationId,
        token: account.token,
        stores: TestSignalStores.forIdentity(account.aciIdentity),
        address: ProtocolAddress.new(account.aci, 1),
        decrypted: new Map(),
        receipts: new Set(),
      },
      {
        account,
        name: `${name}2`,
        deviceId: linked.deviceId,
        registrationId: linked.registrationId,
        token: linked.token,
        stores: linked.aciStores,
        address: ProtocolAddress.new(account.aci, linked.deviceId),
        decrypted: new Map(),
        receipts: new Set(),
      },
    ];
  };

  /** A session from `from` to `to` (PQXDH from `to`'s fetched bundle) unless one exists. */
  const ensureSession = async (from: Device, to: Device) => {
    const existing = await from.stores.sessions.getSession(to.address);
    if (existing?.hasCurrentState()) return;
    await startSessions(platform.gatewayUrl, from, from.stores, to.account.aci, to.deviceId);
  };

  /** Decrypts (or records) one envelope at `device`, then acknowledges it. */
  const handle = async (device: Device, envelopes: readonly EnvelopeEvent[]) => {
    for (const envelope of envelopes) {
      if (envelope.type === 'SERVER_DELIVERY_RECEIPT') {
        device.receipts.add(
          keyOf(envelope.sourceServiceId!, envelope.sourceDevice!, envelope.clientTimestamp),
        );
        continue;
      }
      const sender = ProtocolAddress.new(envelope.sourceServiceId!, envelope.sourceDevice!);
      const content = bytesOf(envelope.content!);
      const plaintext =
        envelope.type === 'PREKEY_BUNDLE'
          ? await signalDecryptPreKey(
              PreKeySignalMessage.deserialize(content),
              sender,
              device.address,
              device.stores.sessions,
              device.stores.identity,
              device.stores.preKeys,
              device.stores.signedPreKeys,
              device.stores.kyberPreKeys,
            )
          : await signalDecrypt(
              SignalMessage.deserialize(content),
              sender,
              device.address,
              device.stores.sessions,
              device.stores.identity,
            );
      device.decrypted.set(
        keyOf(envelope.sourceServiceId!, envelope.sourceDevice!, envelope.clientTimestamp),
        Buffer.from(plaintext).toString(),
      );
    }
    if (envelopes.length > 0) {
      expect(
        await acknowledgeEnvelopes(
          platform.gatewayUrl,
          device.token,
          envelopes.map((envelope) => envelope.guid),
        ),
      ).toBe(envelopes.length);
    }
  };

  /** Reads `device`'s live stream until `done()` holds. */
  const readUntil = async (device: Device, done: () => boolean) => {
    while (!done()) await handle(device, await device.inbox!.take(1));
  };

  /** Connects an offline device: drains its stored envelopes and decrypts them in reverse. */
  const connect = async (device: Device) => {
    device.inbox = new Inbox(platform.gatewayWsUrl, device.token);
    const stored = await device.inbox.drain();
    await handle(device, [...stored].reverse());
    return stored.length;
  };

  /**
   * `from` sends `text` to every device of `to`'s account and a sync copy to its own other
   * device; online recipients read it at once.
   */
  const send = async (from: Device, others: readonly Device[], own: Device, text: string) => {
    const timestamp = ++timestamps;
    const post = async (destination: string, targets: readonly Device[]) => {
      const messages = [];
      for (const target of targets) {
        await ensureSession(from, target);
        const ciphertext = await signalEncrypt(
          new Uint8Array(Buffer.from(text)),
          target.address,
          from.address,
          from.stores.sessions,
          from.stores.identity,
        );
        messages.push({
          deviceId: target.deviceId,
          registrationId: target.registrationId,
          type: ciphertext.type() === CiphertextMessageType.PreKey ? 'PREKEY_BUNDLE' : 'CIPHERTEXT',
          content: b64(ciphertext.serialize()),
        });
      }
      return expectData<{ sendMessage: { __typename: string; needsSync?: boolean } }>(
        await postGraphQL(platform.gatewayUrl, SEND, {
          token: from.token,
          variables: { d: destination, i: { timestamp, messages } },
        }),
        'sendMessage',
      ).sendMessage;
    };
    expect(await post(others[0]!.account.aci, others)).toEqual({
      __typename: 'SendMessageSuccess',
      needsSync: true,
    });
    expect((await post(from.account.aci, [own])).__typename).toBe('SendMessageSuccess');
    const key = keyOf(from.account.aci, from.deviceId, timestamp);
    for (const target of [...others, own]) {
      if (target.inbox) await readUntil(target, () => target.decrypted.get(key) === text);
    }
    return { key, timestamp, text };
  };

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('carries many messages both ways, offline and out of order, with sync copies and receipts', async () => {
    const [a1, a2] = await makeDevices('A', '+14155559001');
    const [b1, b2] = await makeDevices('B', '+14155559002');
    const all = [a1, a2, b1, b2];
    const sent: Array<{ from: Device; to: Device[]; key: string; text: string }> = [];
    try {
      a1.inbox = new Inbox(platform.gatewayWsUrl, a1.token);
      b1.inbox = new Inbox(platform.gatewayWsUrl, b1.token);
      await a1.inbox.drain();
      await b1.inbox.drain();

      // A2 and B2 are offline while A1 and B1 talk; A1 sometimes sends several in a row.
      for (let round = 0; round < 12; round++) {
        const burst = round % 3 === 0 ? 3 : 1;
        for (let i = 0; i < burst; i++) {
          sent.push({
            from: a1,
            to: [b1, b2, a2],
            ...(await send(a1, [b1, b2], a2, `A1 #${round}.${i}`)),
          });
        }
        sent.push({
          from: b1,
          to: [a1, a2, b2],
          ...(await send(b1, [a1, a2], b2, `B1 #${round}`)),
        });
      }
      // The offline devices connect, drain everything stored and decrypt it out of order.
      expect(await connect(a2)).toBeGreaterThan(20);
      expect(await connect(b2)).toBeGreaterThan(20);
      // Now everyone is online; the second devices talk too.
      for (let round = 0; round < 4; round++) {
        sent.push({
          from: a2,
          to: [b1, b2, a1],
          ...(await send(a2, [b1, b2], a1, `A2 #${round}`)),
        });
        sent.push({
          from: b2,
          to: [a1, a2, b1],
          ...(await send(b2, [a1, a2], b1, `B2 #${round}`)),
        });
      }
      for (const message of sent) {
        for (const target of message.to) {
          expect(target.decrypted.get(message.key), `${message.text} at ${target.name}`).toBe(
            message.text,
          );
        }
      }
      // Every message to the other account was acknowledged by both of its devices, so each of
      // the sender account's devices gets a receipt from each (sync copies get none).
      for (const message of sent) {
        const timestamp = Number(message.key.split('@')[1]);
        const recipients = message.to.filter((d) => d.account.aci !== message.from.account.aci);
        const wanted = recipients.map((d) => keyOf(d.account.aci, d.deviceId, timestamp));
        for (const device of all.filter((d) => d.account.aci === message.from.account.aci)) {
          await readUntil(device, () => wanted.every((key) => device.receipts.has(key)));
        }
      }
      for (const device of all) {
        expect(
          await platform.runtime.prisma.queuedEnvelope.count({
            where: { destinationAci: device.account.aci, destinationDeviceId: device.deviceId },
          }),
        ).toBe(0);
      }
    } finally {
      for (const device of all) await device.inbox?.close();
    }
  }, 120_000);
});
