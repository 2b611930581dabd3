import { Readable } from 'node:stream';
import { S3, type S3ClientConfig } from '@aws-sdk/client-s3';
import { S3Store } from '@tus/s3-store';
import type { AttachmentStorage, ByteRange, StoredUpload } from './attachment-storage.ts';
import { isNotFound } from './local-storage.ts';

/** Settings of {@link S3AttachmentStorage}. */
export interface S3AttachmentStorageOptions {
  readonly bucket: string;
  /** The S3 client's settings (region, endpoint, credentials, `forcePathStyle` for MinIO...). */
  readonly client: S3ClientConfig;
  /**
   * Preferred multipart part size in bytes (S3's minimum is 5 MiB).
   * @default 8 MiB
   */
  readonly partSize?: number;
}

function isS3Missing(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return isNotFound(error) || name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * Attachments in an S3-compatible bucket (`@tus/s3-store`: multipart uploads, `<key>.info`
 * objects for TUS records), for deployments with several attachments instances. Downloads read
 * the object directly with a ranged `GetObject`; put a CDN in front of `GET /attachments/<key>`.
 */
export class S3AttachmentStorage implements AttachmentStorage {
  readonly datastore: S3Store;
  readonly #client: S3;
  readonly #bucket: string;

  constructor(options: S3AttachmentStorageOptions) {
    this.#bucket = options.bucket;
    this.#client = new S3(options.client);
    this.datastore = new S3Store({
      partSize: options.partSize ?? 8 * 1024 * 1024,
      s3ClientConfig: { ...options.client, bucket: options.bucket },
    });
  }

  async status(key: string): Promise<StoredUpload | null> {
    try {
      const upload = await this.datastore.getUpload(key);
      return { offset: upload.offset, size: upload.size ?? 0 };
    } catch (error) {
      if (isS3Missing(error)) return null;
      throw error;
    }
  }

  /** @throws an error with `code: 'ENOENT'` when the object is missing. */
  async read(key: string, range?: ByteRange): Promise<Readable> {
    const object = await this.#client
      .getObject({
        Bucket: this.#bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      })
      .catch((error: unknown) => {
        throw isS3Missing(error)
          ? Object.assign(new Error('No such attachment'), { code: 'ENOENT' })
          : error;
      });
    const body = object.Body;
    if (body instanceof Readable) return body;
    if (!body) throw new Error('Empty S3 object body');
    return Readable.fromWeb(body.transformToWebStream() as Parameters<typeof Readable.fromWeb>[0]);
  }

  async remove(key: string): Promise<void> {
    try {
      await this.datastore.remove(key);
    } catch (error) {
      if (!isS3Missing(error)) throw error;
    }
  }
}
