import type { Bus } from '@courier/bus';

/**
 * The only code that touches the bus channels envelopes travel on. One channel per device:
 * whichever messages instance holds that device's subscription is listening on it.
 */
export class EnvelopeChannelRepository {
  readonly #bus: Bus;

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  static channelOf(aci: string, deviceId: number): string {
    return `envelopes:${aci}:${deviceId}`;
  }

  publish(aci: string, deviceId: number, envelope: Uint8Array): Promise<void> {
    return this.#bus.publish(EnvelopeChannelRepository.channelOf(aci, deviceId), envelope);
  }

  /** Resolves once the subscription is active: anything published afterwards is seen. */
  listen(aci: string, deviceId: number): Promise<AsyncIterableIterator<Uint8Array>> {
    return this.#bus.iterate(EnvelopeChannelRepository.channelOf(aci, deviceId));
  }
}
