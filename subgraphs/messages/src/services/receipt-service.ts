import { randomUUID } from 'node:crypto';
import type { AuthenticatedDevice } from '@courier/auth';
import type { Logger } from '@courier/logging';
import { signal, toSafeNumber } from '@courier/proto';
import type { AccountsClient } from '@courier/server';
import type { EnvelopeChannelRepository } from '../repositories/envelope-channel-repository.ts';
import type {
  EnvelopeQueueRepository,
  QueuedEnvelopeRow,
} from '../repositories/envelope-queue-repository.ts';

/** What {@link ReceiptService} works with. */
export interface ReceiptServiceOptions {
  readonly accounts: Pick<AccountsClient, 'findTarget'>;
  readonly queue: Pick<EnvelopeQueueRepository, 'insertMany'>;
  readonly channels: Pick<EnvelopeChannelRepository, 'publish'>;
  readonly logger: Logger;
  /** How long a receipt is kept unacknowledged, in ms. */
  readonly envelopeTtlMs: number;
  /** @default Date.now */
  readonly now?: () => number;
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
  readonly #now: () => number;

  constructor(options: ReceiptServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Sends receipts for the envelopes `recipient` just acknowledged (encoded `Envelope`s). Errors
   * are logged, not thrown: the acknowledgement already happened.
   */
  async acknowledged(
    recipient: AuthenticatedDevice,
    envelopes: readonly Uint8Array[],
  ): Promise<void> {
    try {
      const rows: QueuedEnvelopeRow[] = [];
      const serverTimestamp = this.#now();
      const expiresAt = new Date(serverTimestamp + this.#options.envelopeTtlMs);
      for (const bytes of envelopes) {
        const original = signal.Envelope.decode(bytes);
        const sender = original.sourceServiceId;
        if (
          !sender ||
          sender === recipient.aci ||
          original.type === signal.Envelope.Type.SERVER_DELIVERY_RECEIPT ||
          original.type === signal.Envelope.Type.UNIDENTIFIED_SENDER
        ) {
          continue;
        }
        const account = await this.#options.accounts.findTarget(sender);
        for (const device of account?.devices ?? []) {
          const guid = randomUUID();
          rows.push({
            guid,
            destinationAci: sender,
            destinationDeviceId: device.deviceId,
            serverTimestamp,
            expiresAt,
            envelope: signal.Envelope.encode({
              type: signal.Envelope.Type.SERVER_DELIVERY_RECEIPT,
              sourceServiceId: original.destinationServiceId || recipient.aci,
              sourceDevice: recipient.deviceId,
              destinationServiceId: sender,
              clientTimestamp: toSafeNumber(original.clientTimestamp),
              serverGuid: guid,
              serverTimestamp,
              urgent: false,
            }).finish(),
          });
        }
      }
      if (rows.length === 0) return;
      await this.#options.queue.insertMany(rows);
      await Promise.all(
        rows.map((row) =>
          this.#options.channels.publish(row.destinationAci, row.destinationDeviceId, row.envelope),
        ),
      );
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'server delivery receipts failed');
    }
  }
}
