import { randomBytes } from 'node:crypto';
import { InternalApiClient } from '@courier/server';

/** An upload form for an encrypted avatar, shaped like the attachments API's upload form. */
export interface AvatarUploadForm {
  /** CDN number (3: TUS uploads). */
  readonly cdn: number;
  /** The object key: 15 random bytes, base64url. Stored as the profile's avatar. */
  readonly key: string;
  /** Where the encrypted avatar is uploaded. */
  readonly uploadUrl: string;
  /** Headers the upload must carry. */
  readonly headers: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /** When the form stops being accepted, ms since the epoch. */
  readonly expiresAt: number;
}

/** Issues avatar upload forms (the attachments subgraph's, see {@link AttachmentsAvatarUploadForms}). */
export interface AvatarUploadForms {
  /** A form for one avatar upload of `uploadLength` bytes (unknown when null). */
  create(uploadLength: number | null): Promise<AvatarUploadForm>;
}

/** Options of {@link StubAvatarUploadForms}. */
export interface StubAvatarUploadFormsOptions {
  /**
   * Prefix of `uploadUrl`; the key is appended. The default is a reserved `.invalid` host, so
   * nothing can be uploaded there.
   * @default 'https://cdn3.invalid/attachments/'
   */
  readonly uploadUrlPrefix?: string;
  /** @default 3600 */
  readonly ttlSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Avatar upload forms from the attachments subgraph's internal API
 * (`POST /internal/avatar-upload-forms`): a key, a TUS upload URL and a credential bound to the
 * key and length (at most 10 MiB), signed by attachments.
 *
 * Decision: accounts asks attachments rather than signing forms itself with a shared key, so one
 * service owns keys, credentials, size limits and upload URLs; accounts holds no upload secret
 * and does not need to know where the CDN is. Avatars then live, expire and are served exactly
 * like attachments. The cost is one internal call per `setProfile` with `UPLOAD`, which fails
 * with `INTERNAL` while attachments is down (the upload could not happen then anyway).
 */
export class AttachmentsAvatarUploadForms implements AvatarUploadForms {
  readonly #url: string | (() => string);
  readonly #routerSecret: string;
  #client: InternalApiClient | undefined;

  /** `attachmentsUrl` may be a getter when attachments starts listening after accounts. */
  constructor(attachmentsUrl: string | (() => string), routerSecret: string) {
    this.#url = attachmentsUrl;
    this.#routerSecret = routerSecret;
  }

  /** @throws CourierError `PAYLOAD_TOO_LARGE` / `BAD_USER_INPUT` from attachments, `INTERNAL` when it is unreachable. */
  create(uploadLength: number | null): Promise<AvatarUploadForm> {
    this.#client ??= new InternalApiClient(
      typeof this.#url === 'string' ? this.#url : this.#url(),
      this.#routerSecret,
    );
    return this.#client.request<AvatarUploadForm>('POST', '/avatar-upload-forms', {
      uploadLength,
    });
  }
}

/**
 * Offline avatar upload forms for unit tests and an accounts server configured without an
 * attachments service: a real random key (15 bytes, base64url, as attachment keys) that
 * `setProfile` stores as the avatar, and an upload URL on a reserved `.invalid` host that
 * accepts nothing.
 */
export class StubAvatarUploadForms implements AvatarUploadForms {
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: StubAvatarUploadFormsOptions = {}) {
    this.#prefix = options.uploadUrlPrefix ?? 'https://cdn3.invalid/attachments/';
    this.#ttlMs = (options.ttlSeconds ?? 3600) * 1000;
    this.#now = options.now ?? Date.now;
  }

  create(): Promise<AvatarUploadForm> {
    const key = randomBytes(15).toString('base64url');
    return Promise.resolve({
      cdn: 3,
      key,
      uploadUrl: `${this.#prefix}${key}`,
      headers: [{ name: 'Tus-Resumable', value: '1.0.0' }],
      expiresAt: this.#now() + this.#ttlMs,
    });
  }
}
