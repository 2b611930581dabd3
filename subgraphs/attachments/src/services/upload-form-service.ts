import { randomBytes } from 'node:crypto';
import { BadUserInputError, PayloadTooLargeError } from '@courier/errors';
import type { RateLimits } from '@courier/limits';
import type { AttachmentLimits } from './attachment-limits.ts';
import { KEY_BYTES, type UploadCredentials } from './upload-credentials.ts';

/** An HTTP header an upload must carry. */
export interface UploadHeader {
  readonly name: string;
  readonly value: string;
}

/** Where and how to upload one encrypted attachment (TUS, CDN 3). */
export interface UploadForm {
  /** CDN number: 3 (TUS resumable uploads), as Signal's attachment v4 forms. */
  readonly cdn: number;
  /** The attachment's key: {@link KEY_BYTES} random bytes, base64url. */
  readonly key: string;
  /** The TUS creation URL (`POST`); the upload itself lives at `<uploadUrl>/<key>`. */
  readonly uploadUrl: string;
  /** Headers every TUS request of this upload carries (the signed credential). */
  readonly headers: readonly UploadHeader[];
  /** When the credential stops being accepted, ms since the epoch. */
  readonly expiresAt: number;
}

/** Settings of {@link UploadFormService}. */
export interface UploadFormServiceOptions {
  readonly credentials: UploadCredentials;
  readonly limits: Pick<RateLimits, 'consume' | 'config'>;
  readonly attachmentLimits: AttachmentLimits;
  /** Public origin of the upload/download service, e.g. `https://cdn3.example.org`. */
  readonly publicUrl: () => string;
  /** @default Date.now */
  readonly now?: () => number;
}

function validLength(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new BadUserInputError(`${field} must be a positive whole number of bytes`, field);
  }
  return value;
}

/**
 * Issues upload forms: a fresh unguessable key and a short-lived credential bound to that key
 * and the declared length. Issuing stores nothing; the upload's row appears when the TUS upload
 * is created with the credential.
 */
export class UploadFormService {
  readonly #credentials: UploadCredentials;
  readonly #limits: Pick<RateLimits, 'consume' | 'config'>;
  readonly #attachmentLimits: AttachmentLimits;
  readonly #publicUrl: () => string;
  readonly #now: () => number;

  constructor(options: UploadFormServiceOptions) {
    this.#credentials = options.credentials;
    this.#limits = options.limits;
    this.#attachmentLimits = options.attachmentLimits;
    this.#publicUrl = options.publicUrl;
    this.#now = options.now ?? Date.now;
  }

  /**
   * A form for one attachment of exactly `uploadLength` bytes (the encrypted, padded size).
   * Size is checked before any rate limit is spent; then the `attachmentCreate` bucket (one
   * permit) and the `attachmentBytes` budget (the length) of the caller are consumed.
   *
   * @throws BadUserInputError when `uploadLength` is not a positive whole number.
   * @throws PayloadTooLargeError when it exceeds `maxUploadBytes`.
   * @throws RateLimitedError when a bucket is full.
   */
  async createAttachmentForm(aci: string, uploadLength: unknown): Promise<UploadForm> {
    const length = validLength(uploadLength, 'uploadLength');
    const max = this.#attachmentLimits.maxUploadBytes;
    if (length > max) {
      throw new PayloadTooLargeError(max, `uploadLength exceeds the limit of ${max} bytes`);
    }
    await this.#limits.consume('attachmentCreate', aci);
    const byteBudget = this.#limits.config('attachmentBytes').capacity;
    await this.#limits.consume('attachmentBytes', aci, Math.min(length, byteBudget));
    return this.#form(length, true);
  }

  /**
   * A form for a profile avatar: exactly `uploadLength` bytes, or (null) any length up to
   * `maxAvatarBytes`. Called by accounts for `setProfile`, which rate-limits its callers.
   *
   * @throws BadUserInputError / PayloadTooLargeError as {@link createAttachmentForm}.
   */
  createAvatarForm(uploadLength: number | null): UploadForm {
    const max = this.#attachmentLimits.maxAvatarBytes;
    if (uploadLength === null) return this.#form(max, false);
    const length = validLength(uploadLength, 'uploadLength');
    if (length > max) {
      throw new PayloadTooLargeError(max, `uploadLength exceeds the avatar limit of ${max} bytes`);
    }
    return this.#form(length, true);
  }

  #form(length: number, exactLength: boolean): UploadForm {
    const key = randomBytes(KEY_BYTES).toString('base64url');
    const expiresAt = this.#now() + this.#attachmentLimits.uploadFormTtlSeconds * 1000;
    const credential = this.#credentials.sign({ key, length, exactLength, expiresAt });
    return {
      cdn: 3,
      key,
      uploadUrl: `${this.#publicUrl()}/attachments`,
      headers: [
        { name: 'Authorization', value: `Bearer ${credential}` },
        { name: 'Tus-Resumable', value: '1.0.0' },
      ],
      expiresAt,
    };
  }
}
