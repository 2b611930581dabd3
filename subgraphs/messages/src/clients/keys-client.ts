import { CourierError, ErrorCode } from '@courier/errors';
import { InternalApiClient } from '@courier/server';

/** The keys subgraph's internal API as messages uses it: an account's ACI identity key. */
export class KeysClient {
  readonly #url: string | (() => string);
  readonly #routerSecret: string;
  #client: InternalApiClient | undefined;

  /** `keysUrl` may be a getter when keys starts listening after messages. */
  constructor(keysUrl: string | (() => string), routerSecret: string) {
    this.#url = keysUrl;
    this.#routerSecret = routerSecret;
  }

  /** The account's public ACI identity key (serialized), or null when it has none. */
  async identityKeyOf(aci: string): Promise<Uint8Array | null> {
    this.#client ??= new InternalApiClient(
      typeof this.#url === 'string' ? this.#url : this.#url(),
      this.#routerSecret,
    );
    try {
      const body = await this.#client.request<{ identityKey: string }>(
        'GET',
        `/identity-keys/${aci}`,
      );
      return new Uint8Array(Buffer.from(body.identityKey, 'base64'));
    } catch (error) {
      if (error instanceof CourierError && error.code === ErrorCode.NOT_FOUND) return null;
      throw error;
    }
  }
}
