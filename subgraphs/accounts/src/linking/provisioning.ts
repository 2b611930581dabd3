import { randomBytes } from 'node:crypto';
import type { Bus, BusIterator } from '@courier/bus';
import { BadUserInputError, PayloadTooLargeError } from '@courier/errors';
import type { RateLimits } from '@courier/limits';

/** Random bytes in a provisioning address (Signal: 16). */
export const PROVISIONING_ADDRESS_BYTES = 16;

/** Largest provisioning message, in bytes (Signal: 256 KiB). */
export const MAX_PROVISIONING_MESSAGE_BYTES = 256 * 1024;

/** How long a provisioning subscription waits for its message before it completes. */
export const PROVISIONING_TIMEOUT_MS = 10 * 60_000;

/** A provisioning address in unpadded base64url: 22 characters for 16 bytes. */
const ADDRESS = /^[A-Za-z0-9_-]{22}$/;

/** What the `provisioning` subscription yields, as its GraphQL union resolves it. */
export type ProvisioningEventModel =
  | { readonly __typename: 'ProvisioningAddress'; readonly address: string }
  | { readonly __typename: 'ProvisioningMessage'; readonly body: Uint8Array };

/** The bus channel of a provisioning address. */
export function provisioningChannel(address: string): string {
  return `provisioning:${address}`;
}

/**
 * Checks that `address` is one the server could have made: 16 bytes, unpadded base64url, in its
 * one canonical spelling.
 *
 * @throws BadUserInputError (`BAD_USER_INPUT`, field `address`) otherwise.
 */
export function assertProvisioningAddress(address: string): void {
  if (
    !ADDRESS.test(address) ||
    Buffer.from(address, 'base64url').toString('base64url') !== address
  ) {
    throw new BadUserInputError('Malformed provisioning address', 'address');
  }
}

const DONE: IteratorResult<ProvisioningEventModel, undefined> = Object.freeze({
  done: true,
  value: undefined,
});

/**
 * One provisioning session as an async iterator: first the address, then the first message
 * published to it, then done. Ends early on `return()` (the client unsubscribed) or when the
 * wait times out. Not a generator, so `return()` reaches the bus subscription at once even
 * while a `next()` is pending.
 */
class ProvisioningStream implements AsyncIterableIterator<ProvisioningEventModel> {
  readonly #source: BusIterator;
  #address: string | undefined;
  #done = false;
  readonly #timer: NodeJS.Timeout;

  constructor(address: string, source: BusIterator, timeoutMs: number) {
    this.#address = address;
    this.#source = source;
    this.#timer = setTimeout(() => void this.return(), timeoutMs);
    this.#timer.unref();
  }

  async next(): Promise<IteratorResult<ProvisioningEventModel, undefined>> {
    if (this.#done) return DONE;
    const address = this.#address;
    if (address !== undefined) {
      this.#address = undefined;
      return { done: false, value: { __typename: 'ProvisioningAddress', address } };
    }
    const result = await this.#source.next();
    if (this.#done || result.done) {
      await this.return();
      return DONE;
    }
    // One message per address: stop listening before handing it on.
    await this.return();
    return { done: false, value: { __typename: 'ProvisioningMessage', body: result.value } };
  }

  async return(): Promise<IteratorResult<ProvisioningEventModel, undefined>> {
    this.#done = true;
    clearTimeout(this.#timer);
    await this.#source.return();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<ProvisioningEventModel, undefined>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Provisioning (Signal's provisioning socket) over the bus: a new device subscribes and gets a
 * random address; whoever knows the address (the primary, after scanning it from the new
 * device's screen) sends one opaque message to it. The address's channel lives on the bus, so
 * the subscription and the send may reach different accounts instances.
 *
 * The server cannot tell whether anyone listens on an address (Redis pub/sub does not say, and
 * the listener may sit on another instance): a message to an address nobody listens on is
 * dropped silently, and the primary learns of success when the new device shows up in
 * `devices`. Addresses are random 128-bit values, so nobody can guess one to listen on.
 */
export class ProvisioningService {
  readonly #bus: Bus;
  readonly #limits: Pick<RateLimits, 'consume'>;
  readonly #timeoutMs: number;

  constructor(bus: Bus, limits: Pick<RateLimits, 'consume'>, options: { timeoutMs?: number } = {}) {
    this.#bus = bus;
    this.#limits = limits;
    this.#timeoutMs = options.timeoutMs ?? PROVISIONING_TIMEOUT_MS;
  }

  /**
   * Opens a provisioning session: makes a random address and subscribes to its channel before
   * yielding it, so a message sent as soon as the address is known is seen. Anyone may open one
   * (a device to be linked has no credentials), so sessions are rate limited per client: the
   * `provisioning` bucket of the gateway's pseudonym for the caller's address (never the
   * address itself), or of one shared key when there is none.
   *
   * @throws RateLimitedError
   */
  async open(client: string | undefined): Promise<AsyncIterableIterator<ProvisioningEventModel>> {
    await this.#limits.consume('provisioning', client ?? 'unknown-client');
    const address = randomBytes(PROVISIONING_ADDRESS_BYTES).toString('base64url');
    // One message is wanted: a tiny buffer bounds what a flood to the address can hold in memory
    // (the first message is still delivered; the stream ends after it).
    const source = await this.#bus.iterate(provisioningChannel(address), { bufferSize: 1 });
    return new ProvisioningStream(address, source, this.#timeoutMs);
  }

  /**
   * Relays an opaque (client-encrypted) message to an address's subscriber, if any.
   *
   * @throws BadUserInputError for a malformed address or an empty body.
   * @throws PayloadTooLargeError when the body exceeds {@link MAX_PROVISIONING_MESSAGE_BYTES}.
   */
  async send(address: string, body: Uint8Array): Promise<void> {
    assertProvisioningAddress(address);
    if (body.length === 0) throw new BadUserInputError('body must not be empty', 'body');
    if (body.length > MAX_PROVISIONING_MESSAGE_BYTES) {
      throw new PayloadTooLargeError(MAX_PROVISIONING_MESSAGE_BYTES);
    }
    await this.#bus.publish(provisioningChannel(address), new Uint8Array(body));
  }
}
