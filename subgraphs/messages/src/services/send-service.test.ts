import type { AuthenticatedDevice } from '@courier/auth';
import { createLogger } from '@courier/logging';
import { signal } from '@courier/proto';
import type { AccountTarget } from '@courier/server';
import { describe, expect, it, vi } from 'vitest';
import { EnvelopeOutbox } from './envelope-outbox.ts';
import type { QueuedEnvelopeRow } from '../repositories/envelope-queue-repository.ts';
import { MAX_CONTENT_BYTES, SendService, type OutgoingMessage } from './send-service.ts';

const SENDER = {
  aci: '0f0e0d0c-1111-4222-8333-944455556666',
  deviceId: 1,
} as AuthenticatedDevice;
const RECIPIENT: AccountTarget = {
  aci: '6a1b2c3d-1111-4222-8333-944455556666',
  pni: '7b1b2c3d-1111-4222-8333-944455556666',
  unidentifiedAccessKey: null,
  unrestrictedUnidentifiedAccess: false,
  devices: [
    { deviceId: 1, registrationId: 11, pniRegistrationId: 21 },
    { deviceId: 3, registrationId: 13, pniRegistrationId: 23 },
  ],
};

function service(options: { blocked?: boolean; recipient?: AccountTarget } = {}) {
  const recipient = options.recipient ?? RECIPIENT;
  const senderAccount: AccountTarget = { ...RECIPIENT, aci: SENDER.aci, devices: [] };
  const accounts = {
    findTarget: vi.fn(async (id: string) =>
      id === SENDER.aci
        ? senderAccount
        : id.endsWith(RECIPIENT.pni) || id === RECIPIENT.aci
          ? recipient
          : null,
    ),
    isBlocked: vi.fn(async () => options.blocked ?? false),
  };
  const inserted: QueuedEnvelopeRow[][] = [];
  const queue = {
    insertMany: vi.fn(async (rows: readonly QueuedEnvelopeRow[]) => void inserted.push([...rows])),
  };
  const delivery = { deliver: vi.fn(async () => undefined) };
  const limits = { consume: vi.fn(async () => undefined) };
  const outbox = new EnvelopeOutbox({
    queue,
    channels: { publish: delivery.deliver },
    logger: createLogger({ name: 'test', level: 'silent' }),
    now: () => 1_000,
  });
  const sender = new SendService({ accounts, outbox, limits });
  return { sender, accounts, queue, inserted, delivery, limits };
}

const message = (deviceId: number, registrationId: number): OutgoingMessage => ({
  deviceId,
  registrationId,
  type: 'CIPHERTEXT',
  content: new Uint8Array([1, 2, 3]),
});

describe('SendService', () => {
  it('stores one envelope per device in one call, then publishes each', async () => {
    const { sender, inserted, delivery, limits } = service();
    const result = await sender.send(SENDER, `PNI:${RECIPIENT.pni.toUpperCase()}`, {
      timestamp: 5,
      messages: [message(1, 21), message(3, 23)],
    });
    expect(result).toEqual({ __typename: 'SendMessageSuccess', needsSync: false });
    expect(limits.consume).toHaveBeenCalledWith('messages', `${SENDER.aci}__${RECIPIENT.pni}`);
    expect(inserted).toHaveLength(1);
    const rows = inserted[0]!;
    expect(rows.map((row) => [row.destinationAci, row.destinationDeviceId])).toEqual([
      [RECIPIENT.aci, 1],
      [RECIPIENT.aci, 3],
    ]);
    const envelope = signal.Envelope.decode(rows[0]!.envelope);
    expect(envelope).toMatchObject({
      type: signal.Envelope.Type.CIPHERTEXT,
      sourceServiceId: SENDER.aci,
      sourceDevice: 1,
      destinationServiceId: `PNI:${RECIPIENT.pni}`,
      serverGuid: rows[0]!.guid,
      urgent: true,
      story: false,
      ephemeral: false,
    });
    expect(rows[0]!.expiresAt.getTime()).toBe(1_000 + 30 * 24 * 60 * 60 * 1000);
    expect(rows.map((row) => row.wantsReceipt)).toEqual([true, true]);
    expect(delivery.deliver).toHaveBeenCalledTimes(2);
  });

  it('answers mismatched and stale devices without storing or publishing', async () => {
    const { sender, queue, delivery } = service();
    const input = (messages: OutgoingMessage[]) => ({ timestamp: 1, messages });
    expect(
      await sender.send(SENDER, RECIPIENT.aci, input([message(1, 11), message(2, 12)])),
    ).toEqual({
      __typename: 'MismatchedDevices',
      missingDevices: [3],
      extraDevices: [2],
    });
    expect(
      await sender.send(SENDER, RECIPIENT.aci, input([message(1, 11), message(3, 99)])),
    ).toEqual({
      __typename: 'StaleDevices',
      staleDevices: [3],
    });
    expect(queue.insertMany).not.toHaveBeenCalled();
    expect(delivery.deliver).not.toHaveBeenCalled();
  });

  it('answers success to a blocked sender but delivers nothing', async () => {
    const { sender, queue, delivery } = service({ blocked: true });
    const result = await sender.send(SENDER, RECIPIENT.aci, {
      timestamp: 1,
      messages: [message(1, 11), message(3, 13)],
    });
    expect(result.__typename).toBe('SendMessageSuccess');
    expect(queue.insertMany).not.toHaveBeenCalled();
    expect(delivery.deliver).not.toHaveBeenCalled();
  });

  it('refuses a malformed message list before any lookup or rate limit', async () => {
    const { sender, accounts, limits, queue } = service();
    const send = (messages: OutgoingMessage[]) =>
      sender.send(SENDER, RECIPIENT.aci, { timestamp: 1, messages });
    const tooMany = Array.from({ length: 128 }, (_, i) => message((i % 127) + 1, 11));
    for (const messages of [
      tooMany,
      [message(0, 11)],
      [message(128, 11)],
      [message(1, 11), message(1, 11)],
      [message(1, 0x4000)],
      [message(1, -1)],
      [{ ...message(1, 11), type: 'SERVER_DELIVERY_RECEIPT' }],
      [{ ...message(1, 11), content: new Uint8Array(0) }],
    ]) {
      await expect(send(messages)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    await expect(
      send([{ ...message(1, 11), content: new Uint8Array(MAX_CONTENT_BYTES + 1) }]),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(accounts.findTarget).not.toHaveBeenCalled();
    expect(limits.consume).not.toHaveBeenCalled();
    expect(queue.insertMany).not.toHaveBeenCalled();
  });

  it('publishes online messages without storing them', async () => {
    const { sender, queue, delivery } = service();
    await sender.send(SENDER, RECIPIENT.aci, {
      timestamp: 1,
      online: true,
      messages: [message(1, 11), message(3, 13)],
    });
    expect(queue.insertMany).not.toHaveBeenCalled();
    expect(delivery.deliver).toHaveBeenCalledTimes(2);
  });
});

describe('SendService sealed sender', () => {
  const KEY = new Uint8Array(16).fill(7);
  const keyed: AccountTarget = { ...RECIPIENT, unidentifiedAccessKey: KEY };
  const sealed = (deviceId: number, registrationId: number): OutgoingMessage => ({
    ...message(deviceId, registrationId),
    type: 'UNIDENTIFIED_SENDER',
  });
  const input = { timestamp: 9, messages: [sealed(1, 11), sealed(3, 13)] };

  it('stores envelopes without a source after a matching key, limited per destination', async () => {
    const { sender, inserted, limits, accounts } = service({ recipient: keyed });
    const anonymous = { kind: 'anonymous' } as const;
    expect(
      await sender.sendAs(anonymous, RECIPIENT.aci, input, { unidentifiedAccessKey: KEY }),
    ).toEqual({ __typename: 'SendMessageSuccess', needsSync: false });
    expect(accounts.isBlocked).not.toHaveBeenCalled();
    expect(limits.consume).toHaveBeenCalledWith('inboundMessageBytes', RECIPIENT.aci, 6);
    const envelope = signal.Envelope.decode(inserted[0]![0]!.envelope);
    expect(envelope.type).toBe(signal.Envelope.Type.UNIDENTIFIED_SENDER);
    expect(envelope.sourceServiceId).toBe('');
    expect(envelope.sourceDevice).toBe(0);
    expect(inserted[0]!.map((row) => row.wantsReceipt)).toEqual([false, false]);
  });

  it('refuses a wrong, short or missing key alike, unless access is unrestricted', async () => {
    const anonymous = { kind: 'anonymous' } as const;
    const { sender, queue, limits } = service({ recipient: keyed });
    for (const key of [new Uint8Array(16), new Uint8Array(15), KEY.subarray(0, 8)]) {
      await expect(
        sender.sendAs(anonymous, RECIPIENT.aci, input, { unidentifiedAccessKey: key }),
      ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    await expect(
      sender.sendAs(anonymous, '00000000-1111-4222-8333-944455556666', input, {
        unidentifiedAccessKey: KEY,
      }),
    ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(sender.sendAs(anonymous, RECIPIENT.aci, input, null)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    expect(queue.insertMany).not.toHaveBeenCalled();
    expect(limits.consume).not.toHaveBeenCalled();
    const open = service({ recipient: { ...RECIPIENT, unrestrictedUnidentifiedAccess: true } });
    expect(
      (
        await open.sender.sendAs(anonymous, RECIPIENT.aci, input, {
          unidentifiedAccessKey: new Uint8Array(16),
        })
      ).__typename,
    ).toBe('SendMessageSuccess');
  });

  it('refuses a token with access, and identified types without a token', async () => {
    const { sender } = service({ recipient: keyed });
    await expect(
      sender.sendAs({ kind: 'device', device: SENDER }, RECIPIENT.aci, input, {
        unidentifiedAccessKey: KEY,
      }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(
      sender.sendAs(
        { kind: 'anonymous' },
        RECIPIENT.aci,
        { timestamp: 1, messages: [message(1, 11), message(3, 13)] },
        { unidentifiedAccessKey: KEY },
      ),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
