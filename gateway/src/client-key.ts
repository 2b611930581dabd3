import { createHmac, hkdfSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import { CLIENT_KEY_HEADER } from '@courier/schema';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Keyed pseudonyms of client addresses, so subgraphs can rate-limit unauthenticated callers per
 * client without ever seeing, logging or storing an IP address: HMAC-SHA256 of the address and
 * the current UTC day under a key derived (HKDF) from the router secret, 128 bits in base64url.
 * The day in the input makes pseudonyms unlinkable from one day to the next; the key makes them
 * useless without the router secret. IPv4-mapped IPv6 addresses hash as their IPv4 form.
 */
export class ClientKeys {
  readonly #key: Buffer;
  readonly #trustProxy: boolean;
  readonly #now: () => number;

  constructor(routerSecret: string, options: { trustProxy?: boolean; now?: () => number } = {}) {
    this.#key = Buffer.from(
      hkdfSync('sha256', routerSecret, 'courier', 'client-address-pseudonym', 32),
    );
    this.#trustProxy = options.trustProxy ?? false;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The client address of a request: the socket's peer, or with `trustProxy` the first address
   * of `X-Forwarded-For` (set by the load balancer in front of the gateway).
   */
  addressOf(req: IncomingMessage): string {
    if (this.#trustProxy) {
      const forwarded = req.headers['x-forwarded-for'];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
      if (first) return first;
    }
    return req.socket.remoteAddress ?? 'unknown';
  }

  /** The pseudonym of `address` today. */
  keyOf(address: string): string {
    const normalised = address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    const day = Math.floor(this.#now() / DAY_MS);
    return createHmac('sha256', this.#key)
      .update(`${day}|${normalised}`)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  }

  /** Sets the request's {@link CLIENT_KEY_HEADER}, replacing any value the client sent. */
  stamp(req: IncomingMessage): string {
    const key = this.keyOf(this.addressOf(req));
    req.headers[CLIENT_KEY_HEADER] = key;
    return key;
  }
}
