import type { AuthenticatedDevice } from '@courier/auth';
import { NotFoundError } from '@courier/errors';
import type { AccountsClient } from '@courier/server';
import { PublicKey, SenderCertificate } from '@signalapp/libsignal-client';
import type { SenderCertificateKeys } from '../certificates/sender-certificate-keys.ts';
import type { KeysClient } from '../clients/keys-client.ts';

/** How long a sender certificate is valid (Signal: 7 days). */
export const SENDER_CERTIFICATE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** What `Query.senderCertificate` answers. */
export interface SenderCertificateResult {
  readonly certificate: Uint8Array;
  readonly expiresAt: number;
}

/** What {@link CertificateService} works with. */
export interface CertificateServiceOptions {
  readonly keys: SenderCertificateKeys;
  readonly identityKeys: Pick<KeysClient, 'identityKeyOf'>;
  readonly accounts: Pick<AccountsClient, 'findTarget'>;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Sealed-sender certificates (Signal's `CertificateController`): a libsignal `SenderCertificate`
 * for the calling device (its ACI, device id and ACI identity key from the keys subgraph, and its
 * number when asked), valid 7 days, signed by the server key whose `ServerCertificate` the trust
 * root signed. Recipients validate it against the published trust root.
 */
export class CertificateService {
  readonly #options: CertificateServiceOptions;
  readonly #now: () => number;

  constructor(options: CertificateServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The trust root's public key (serialized, with its type byte), as clients pin it. */
  trustRoot(): Uint8Array {
    return this.#options.keys.trustRoot.getPublicKey().serialize();
  }

  /**
   * Issues a sender certificate for `device`.
   *
   * @throws NotFoundError when the account has no identity key (or, with the number, no account).
   */
  async issue(
    device: AuthenticatedDevice,
    includeNumber: boolean,
  ): Promise<SenderCertificateResult> {
    const [identityKey, account] = await Promise.all([
      this.#options.identityKeys.identityKeyOf(device.aci),
      includeNumber ? this.#options.accounts.findTarget(device.aci) : undefined,
    ]);
    if (!identityKey) throw new NotFoundError('No identity key');
    if (includeNumber && !account?.number) throw new NotFoundError('No such account');
    const expiresAt = this.#now() + SENDER_CERTIFICATE_TTL_MS;
    const { serverCertificate, serverKey } = this.#options.keys;
    const certificate = SenderCertificate.new(
      device.aci,
      includeNumber ? account!.number! : null,
      device.deviceId,
      PublicKey.deserialize(identityKey as Uint8Array<ArrayBuffer>),
      expiresAt,
      serverCertificate,
      serverKey,
    );
    return { certificate: certificate.serialize(), expiresAt };
  }
}
