import { createReadStream, mkdirSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import type { AttachmentStorage, ByteRange, StoredUpload } from './attachment-storage.ts';

/** Whether a storage error means "nothing stored under this key". */
export function isNotFound(error: unknown): boolean {
  const status = (error as { status_code?: unknown } | null)?.status_code;
  const code = (error as { code?: unknown } | null)?.code;
  return status === 404 || status === 410 || code === 'ENOENT';
}

/**
 * Attachments as files in one directory (`@tus/file-store`): `<key>` holds the bytes,
 * `<key>.json` the TUS upload record. The default: one node, or several sharing a file system.
 */
export class LocalAttachmentStorage implements AttachmentStorage {
  readonly datastore: FileStore;
  readonly #directory: string;

  /** Creates `directory` (mode 0700) when it does not exist. */
  constructor(directory: string) {
    this.#directory = path.resolve(directory);
    mkdirSync(this.#directory, { recursive: true, mode: 0o700 });
    this.datastore = new FileStore({ directory: this.#directory });
  }

  async status(key: string): Promise<StoredUpload | null> {
    try {
      const upload = await this.datastore.getUpload(key);
      return { offset: upload.offset, size: upload.size ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  read(key: string, range?: ByteRange): Promise<Readable> {
    const stream = createReadStream(
      path.join(this.#directory, key),
      range ? { start: range.start, end: range.end } : {},
    );
    return new Promise((resolve, reject) => {
      stream.once('open', () => resolve(stream));
      stream.once('error', reject);
    });
  }

  /** Removes the bytes and the upload record separately: either may be missing after a crash. */
  async remove(key: string): Promise<void> {
    for (const file of [key, `${key}.json`]) {
      await unlink(path.join(this.#directory, file)).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
  }
}
