import { randomBytes } from 'node:crypto';

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

/** Issues avatar upload forms; the attachments subgraph will provide the real implementation. */
export interface AvatarUploadForms {
  /** A form for one avatar upload of `uploadLength` bytes (unknown when null). */
  create(uploadLength: number | null): Promise<AvatarUploadForm>;
}

/** Options of {@link StubAvatarUploadForms}. */
export interface StubAvatarUploadFormsOptions {
  /**
   * Prefix of `uploadUrl`; the key is appended. The default is a reserved `.invalid` host: there
   * is no upload endpoint until the attachments issue lands.
   * @default 'https://cdn3.invalid/attachments/'
   */
  readonly uploadUrlPrefix?: string;
  /** @default 3600 */
  readonly ttlSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Placeholder avatar upload forms until the attachments subgraph serves real ones (its TUS
 * endpoint and `createAttachmentUploadForm` arrive with the attachments issue): a real random key
 * (15 bytes, base64url, as attachment keys) that `setProfile` stores as the avatar, and an
 * upload URL that does not accept uploads yet.
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
