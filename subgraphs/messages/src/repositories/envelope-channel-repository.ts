import type { Bus } from '@courier/bus';

/**
 * The only code that touches the bus channels envelopes travel on. One channel per device:
 * whichever messages instance holds that device's subscription is listening on it. A second
 * channel per device carries announcements of new envelope streams, so an older stream of the
 * same device on any instance can end.
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

  static connectionsChannelOf(aci: string, deviceId: number): string {
    return `connections:${aci}:${deviceId}`;
  }

  /** Tells every instance that the device opened an envelope stream (`announcement` is opaque). */
  announceConnection(aci: string, deviceId: number, announcement: Uint8Array): Promise<void> {
    return this.#bus.publish(
      EnvelopeChannelRepository.connectionsChannelOf(aci, deviceId),
      announcement,
    );
  }

  /**
   * Calls `handler` with every connection announcement of the device until the returned function
   * is called; resolves once listening.
   */
  onConnection(
    aci: string,
    deviceId: number,
    handler: (announcement: Uint8Array) => void,
  ): Promise<() => Promise<void>> {
    return this.#bus.subscribe(
      EnvelopeChannelRepository.connectionsChannelOf(aci, deviceId),
      handler,
    );
  }

  /** Resolves once the subscription is active: anything published afterwards is seen. */
  listen(aci: string, deviceId: number): Promise<AsyncIterableIterator<Uint8Array>> {
    return this.#bus.iterate(EnvelopeChannelRepository.channelOf(aci, deviceId));
  }
}
