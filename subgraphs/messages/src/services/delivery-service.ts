import type { AuthenticatedDevice } from '@courier/auth';
import { mapAsyncIterator } from '@courier/server';
import type { EnvelopeChannelRepository } from '../repositories/envelope-channel-repository.ts';
import { QUEUE_EMPTY, envelopeModelOf, type EnvelopeEventModel } from './envelope-model.ts';

/**
 * Real-time delivery: a device's subscription listens on its channel on the bus, so an
 * envelope published by any messages instance reaches the instance that holds the socket.
 */
export class DeliveryService {
  readonly #channels: EnvelopeChannelRepository;

  constructor(channels: EnvelopeChannelRepository) {
    this.#channels = channels;
  }

  /**
   * The device's envelope stream. `QueueEmpty` comes first, once the channel subscription is
   * active, so a client knows that anything sent from then on reaches it live.
   */
  async stream(device: AuthenticatedDevice): Promise<AsyncIterableIterator<EnvelopeEventModel>> {
    const source = await this.#channels.listen(device.aci, device.deviceId);
    return mapAsyncIterator<Uint8Array, EnvelopeEventModel>(source, envelopeModelOf, [QUEUE_EMPTY]);
  }

  /** Hands an encoded `Envelope` to whichever instance holds the device's subscription. */
  deliver(aci: string, deviceId: number, envelope: Uint8Array): Promise<void> {
    return this.#channels.publish(aci, deviceId, envelope);
  }
}
