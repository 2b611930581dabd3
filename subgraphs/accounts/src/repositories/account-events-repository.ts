import type { Bus } from '@courier/bus';

/**
 * Bus channel announcing deleted accounts (payload: the ACI), so keys, messages and groups drop
 * what they hold for it. Pub/sub is lossy: owners must also tolerate data of accounts that no
 * longer exist (keys sweeps them; messages purges by TTL).
 */
export const ACCOUNT_DELETED_CHANNEL = 'accounts:deleted';

/** Announces account lifecycle events on the bus. */
export class AccountEventsRepository {
  readonly #bus: Bus;

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  async accountDeleted(aci: string): Promise<void> {
    await this.#bus.publish(ACCOUNT_DELETED_CHANNEL, new TextEncoder().encode(aci));
  }
}
