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
 * Whether an envelope for the account `destinationAci` gets a server delivery receipt when it is
 * acknowledged: only when its sender is known (not sealed sender), it is not itself a receipt, and
 * it is not a sync copy (sent by the destination account's own device). The one place this rule
 * lives: the outbox records it on each stored envelope, so that acknowledgements fetch and decode
 * only those, and {@link ReceiptService.acknowledged} applies it again to what it is given.
 */
export function wantsDeliveryReceipt(
  destinationAci: string,
  fields: {
    readonly sourceServiceId?: string | null;
    readonly type?: signal.Envelope.Type | null;
  },
): boolean {
  return (
    !!fields.sourceServiceId &&
    fields.sourceServiceId !== destinationAci &&
    fields.type !== signal.Envelope.Type.SERVER_DELIVERY_RECEIPT &&
    fields.type !== signal.Envelope.Type.UNIDENTIFIED_SENDER
  );
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
   * Sends receipts for the envelopes `recipient` just acknowledged (encoded `Envelope`s; those
   * that want none, by {@link wantsDeliveryReceipt}, are skipped), looking their senders up in one
   * request. Errors are logged, not thrown: the acknowledgement already happened.
   */
  async acknowledged(
    recipient: AuthenticatedDevice,
    envelopes: readonly Uint8Array[],
  ): Promise<void> {
    try {
      const originals = envelopes
        .map((bytes) => signal.Envelope.decode(bytes))
        .filter((original) => wantsDeliveryReceipt(recipient.aci, original));
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
