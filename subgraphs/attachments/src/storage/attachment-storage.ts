import type { Readable } from 'node:stream';
import type { DataStore } from '@tus/utils';

/** An inclusive byte range of a stored attachment. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** How far an upload in storage has got. */
export interface StoredUpload {
  /** Bytes received. */
  readonly offset: number;
  /** Declared length. */
  readonly size: number;
}

/**
 * Where attachment bytes live. The TUS server writes through {@link AttachmentStorage.datastore};
 * downloads and the expiry job use the other methods. Keys are checked against `KEY_PATTERN`
 * before they reach a storage, so implementations may use them as file or object names.
 */
export interface AttachmentStorage {
  /** The `@tus/server` data store uploads are written to. */
  readonly datastore: DataStore;
  /** Progress of the upload under `key`, or null when nothing is stored under it. */
  status(key: string): Promise<StoredUpload | null>;
  /** Streams the bytes of `key` (all of them, or `range`). */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Deletes the bytes and TUS metadata of `key`; nothing stored is not an error. */
  remove(key: string): Promise<void>;
}
