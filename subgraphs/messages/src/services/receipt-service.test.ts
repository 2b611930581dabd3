import type { AuthenticatedDevice } from '@courier/auth';
import { createLogger } from '@courier/logging';
import { signal } from '@courier/proto';
import type { AccountTarget } from '@courier/server';
import { describe, expect, it, vi } from 'vitest';
import type { OutgoingEnvelope } from './envelope-outbox.ts';
import { ReceiptService, wantsDeliveryReceipt } from './receipt-service.ts';

const RECIPIENT = {
  aci: '6a1b2c3d-1111-4222-8333-944455556666',
  deviceId: 2,
} as AuthenticatedDevice;
const SENDER: AccountTarget = {
  aci: '0f0e0d0c-1111-4222-8333-944455556666',
  pni: '7b1b2c3d-1111-4222-8333-944455556666',
  unidentifiedAccessKey: null,
  unrestrictedUnidentifiedAccess: false,
  devices: [
    { deviceId: 1, registrationId: 11, pniRegistrationId: 21 },
    { deviceId: 4, registrationId: 14, pniRegistrationId: 24 },
  ],
};

const encoded = (fields: signal.IEnvelope) => signal.Envelope.encode(fields).finish();

function service() {
  const accounts = {
    findTargets: vi.fn(
      async (ids: readonly string[]) =>
        new Map(ids.map((id) => [id, id === SENDER.aci ? SENDER : null])),
    ),
  };
  const enqueued: OutgoingEnvelope[][] = [];
  const outbox = {
    enqueue: vi.fn(
      async (envelopes: readonly OutgoingEnvelope[]) => void enqueued.push([...envelopes]),
    ),
  };
  const logger = createLogger({ name: 'test', level: 'silent' });
  return { receipts: new ReceiptService({ accounts, outbox, logger }), accounts, enqueued };
}

describe('ReceiptService', () => {
  it('sends every sender device a receipt per identified envelope, looking senders up once', async () => {
    const { receipts, accounts, enqueued } = service();
    const identified = (clientTimestamp: number) =>
      encoded({
        type: signal.Envelope.Type.CIPHERTEXT,
        sourceServiceId: SENDER.aci,
        sourceDevice: 1,
        destinationServiceId: `PNI:${RECIPIENT.aci}`,
        clientTimestamp,
      });
    await receipts.acknowledged(RECIPIENT, [
      identified(5),
      identified(6),
      encoded({ type: signal.Envelope.Type.UNIDENTIFIED_SENDER, clientTimestamp: 7 }),
      encoded({
        type: signal.Envelope.Type.SERVER_DELIVERY_RECEIPT,
        sourceServiceId: SENDER.aci,
        clientTimestamp: 8,
      }),
      encoded({ type: signal.Envelope.Type.CIPHERTEXT, sourceServiceId: RECIPIENT.aci }),
      encoded({ type: signal.Envelope.Type.CIPHERTEXT, sourceServiceId: SENDER.pni }),
    ]);
    expect(accounts.findTargets).toHaveBeenCalledTimes(1);
    expect(enqueued).toHaveLength(1);
    expect(
      enqueued[0]!.map((receipt) => [
        receipt.destinationDeviceId,
        receipt.fields.clientTimestamp,
        receipt.fields.type,
        receipt.fields.sourceServiceId,
        receipt.fields.sourceDevice,
      ]),
    ).toEqual([
      [1, 5, signal.Envelope.Type.SERVER_DELIVERY_RECEIPT, `PNI:${RECIPIENT.aci}`, 2],
      [4, 5, signal.Envelope.Type.SERVER_DELIVERY_RECEIPT, `PNI:${RECIPIENT.aci}`, 2],
      [1, 6, signal.Envelope.Type.SERVER_DELIVERY_RECEIPT, `PNI:${RECIPIENT.aci}`, 2],
      [4, 6, signal.Envelope.Type.SERVER_DELIVERY_RECEIPT, `PNI:${RECIPIENT.aci}`, 2],
    ]);
    expect(enqueued[0]!.every((receipt) => receipt.destinationAci === SENDER.aci)).toBe(true);
  });

  it('looks nothing up and sends nothing for sealed-sender envelopes and receipts', async () => {
    const { receipts, accounts, enqueued } = service();
    await receipts.acknowledged(RECIPIENT, [
      encoded({ type: signal.Envelope.Type.UNIDENTIFIED_SENDER }),
      encoded({ type: signal.Envelope.Type.SERVER_DELIVERY_RECEIPT, sourceServiceId: SENDER.aci }),
    ]);
    expect(accounts.findTargets).not.toHaveBeenCalled();
    expect(enqueued).toEqual([]);
  });

  it('logs instead of throwing when the lookup fails', async () => {
    const { receipts, accounts, enqueued } = service();
    accounts.findTargets.mockRejectedValueOnce(new Error('accounts down'));
    await expect(
      receipts.acknowledged(RECIPIENT, [
        encoded({ type: signal.Envelope.Type.CIPHERTEXT, sourceServiceId: SENDER.aci }),
      ]),
    ).resolves.toBeUndefined();
    expect(enqueued).toEqual([]);
  });
});

describe('wantsDeliveryReceipt', () => {
  const { CIPHERTEXT, PREKEY_BUNDLE, UNIDENTIFIED_SENDER, SERVER_DELIVERY_RECEIPT } =
    signal.Envelope.Type;

  it('wants one for an identified envelope from another account', () => {
    expect(
      wantsDeliveryReceipt(RECIPIENT.aci, { type: CIPHERTEXT, sourceServiceId: SENDER.aci }),
    ).toBe(true);
    expect(
      wantsDeliveryReceipt(RECIPIENT.aci, { type: PREKEY_BUNDLE, sourceServiceId: SENDER.aci }),
    ).toBe(true);
  });

  it('wants none for sealed sender, receipts, sync copies, or an unknown source', () => {
    expect(
      wantsDeliveryReceipt(RECIPIENT.aci, {
        type: UNIDENTIFIED_SENDER,
        sourceServiceId: SENDER.aci,
      }),
    ).toBe(false);
    expect(wantsDeliveryReceipt(RECIPIENT.aci, { type: UNIDENTIFIED_SENDER })).toBe(false);
    expect(
      wantsDeliveryReceipt(RECIPIENT.aci, {
        type: SERVER_DELIVERY_RECEIPT,
        sourceServiceId: SENDER.aci,
      }),
    ).toBe(false);
    expect(
      wantsDeliveryReceipt(RECIPIENT.aci, { type: CIPHERTEXT, sourceServiceId: RECIPIENT.aci }),
    ).toBe(false);
    expect(wantsDeliveryReceipt(RECIPIENT.aci, { type: CIPHERTEXT })).toBe(false);
    expect(wantsDeliveryReceipt(RECIPIENT.aci, { type: CIPHERTEXT, sourceServiceId: '' })).toBe(
      false,
    );
    expect(wantsDeliveryReceipt(RECIPIENT.aci, { type: CIPHERTEXT, sourceServiceId: null })).toBe(
      false,
    );
  });

  it('agrees with what an encoded envelope decodes to', () => {
    const decoded = signal.Envelope.decode(
      encoded({ type: CIPHERTEXT, sourceServiceId: SENDER.aci }),
    );
    expect(wantsDeliveryReceipt(RECIPIENT.aci, decoded)).toBe(true);
    expect(wantsDeliveryReceipt(SENDER.aci, decoded)).toBe(false);
  });
});
