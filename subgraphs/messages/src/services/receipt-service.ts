import type { AuthenticatedDevice } from '@courier/auth';
import type { Logger } from '@courier/logging';
import { signal, toSafeNumber } from '@courier/proto';
import type { AccountsClient } from '@courier/server';
import type { EnvelopeOutbox, OutgoingEnvelope } from './envelope-outbox.ts';

/** What {@link ReceiptService} works with. */
export interface ReceiptServiceOptions {
  readonly accounts: Pick<AccountsClient, 'findTargets'>;
  readonly outbox: Pick<EnvelopeOutbox, 'enqueue'>;
  readonly logger: Logger;
}

/**
 * Server delivery receipts (Signal's `ReceiptSender`): when a device acknowledges identified
 * envelopes, every device of each sender gets a `SERVER_DELIVERY_RECEIPT` envelope whose source
 * is the recipient's service id (as the message was addressed) and device, whose
 * `clientTimestamp` is the original message's, and which has no content. Stored and published
 * like any envelope. None for sealed-sender envelopes (no sender known), for receipts themselves,
 * or for sync copies (sender and recipient are the same account).
 */
export class ReceiptService {
  readonly #options: ReceiptServiceOptions;

  constructor(options: ReceiptServiceOptions) {
    this.#options = options;
  }

  /**
   * Sends receipts for the envelopes `recipient` just acknowledged (encoded `Envelope`s), looking
   * their senders up in one request. Errors are logged, not thrown: the acknowledgement already
   * happened.
   */
  async acknowledged(
    recipient: AuthenticatedDevice,
    envelopes: readonly Uint8Array[],
  ): Promise<void> {
    try {
      const originals = envelopes
        .map((bytes) => signal.Envelope.decode(bytes))
        .filter(
          (original) =>
            original.sourceServiceId &&
            original.sourceServiceId !== recipient.aci &&
            original.type !== signal.Envelope.Type.SERVER_DELIVERY_RECEIPT &&
            original.type !== signal.Envelope.Type.UNIDENTIFIED_SENDER,
        );
      if (originals.length === 0) return;
      const senders = await this.#options.accounts.findTargets(
        originals.map((original) => original.sourceServiceId),
      );
      const receipts: OutgoingEnvelope[] = [];
      for (const original of originals) {
        const sender = original.sourceServiceId;
        for (const device of senders.get(sender)?.devices ?? []) {
          receipts.push({
            destinationAci: sender,
            destinationDeviceId: device.deviceId,
            fields: {
              type: signal.Envelope.Type.SERVER_DELIVERY_RECEIPT,
              sourceServiceId: original.destinationServiceId || recipient.aci,
              sourceDevice: recipient.deviceId,
              destinationServiceId: sender,
              clientTimestamp: toSafeNumber(original.clientTimestamp),
              urgent: false,
            },
          });
        }
      }
      if (receipts.length > 0) await this.#options.outbox.enqueue(receipts, false);
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'server delivery receipts failed');
    }
  }
}
