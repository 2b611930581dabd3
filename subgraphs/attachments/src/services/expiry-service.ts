import type { AttachmentRepository } from '../repositories/attachment-repository.ts';
import type { AttachmentStorage } from '../storage/attachment-storage.ts';

/** Settings of {@link AttachmentExpiry}. */
export interface AttachmentExpiryOptions {
  readonly repository: AttachmentRepository;
  readonly storage: AttachmentStorage;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Rows handled per round.
   * @default 500
   */
  readonly batchSize?: number;
}

/**
 * Deletes attachments past retention and partial uploads whose credential expired. Bytes go
 * first, then the row, so a crash in between leaves a row the next run retries, never bytes
 * without a row. Accounts are not involved: an attachment carries no owner, and expires on its
 * own whether or not its uploader still exists. Safe to run on every instance at once (removing
 * a removed key is a no-op).
 */
export class AttachmentExpiry {
  readonly #repository: AttachmentRepository;
  readonly #storage: AttachmentStorage;
  readonly #now: () => number;
  readonly #batchSize: number;

  constructor(options: AttachmentExpiryOptions) {
    this.#repository = options.repository;
    this.#storage = options.storage;
    this.#now = options.now ?? Date.now;
    this.#batchSize = options.batchSize ?? 500;
  }

  /** Runs until nothing is due; resolves with how many attachments were deleted. */
  async run(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const keys = await this.#repository.findExpired(new Date(this.#now()), this.#batchSize);
      for (const key of keys) await this.#storage.remove(key);
      if (keys.length > 0) deleted += await this.#repository.delete(keys);
      if (keys.length < this.#batchSize) return deleted;
    }
  }
}
