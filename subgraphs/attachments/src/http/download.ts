import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { AttachmentRepository } from '../repositories/attachment-repository.ts';
import { KEY_PATTERN } from '../services/upload-credentials.ts';
import type { AttachmentStorage } from '../storage/attachment-storage.ts';
import { isNotFound } from '../storage/local-storage.ts';
import { parseRange } from './range.ts';

/** What the download handler needs. */
export interface DownloadDeps {
  readonly repository: AttachmentRepository;
  readonly storage: AttachmentStorage;
  readonly now: () => number;
}

/** Longest `max-age` sent (a year; the attachment expires earlier anyway). */
const MAX_AGE_SECONDS = 365 * 86_400;

function notFound(res: Response): void {
  res.status(404).type('text/plain').set('Cache-Control', 'no-store').send('Not found\n');
}

/**
 * `GET`/`HEAD /attachments/<key>`: the stored ciphertext of a completed upload, public like a CDN
 * object (keys are unguessable; the bytes are encrypted by the client). A completed upload never
 * changes, so its strong `ETag` is derived from the key and length and it may be cached until it
 * expires (`Cache-Control: public, immutable`). One byte range per request (`206`), `If-None-Match`
 * (`304`) and `If-Range` are honoured. Unknown, partial and expired keys answer 404.
 */
export function downloadHandler(deps: DownloadDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const key = String(req.params['key']);
    if (!KEY_PATTERN.test(key)) return notFound(res);
    const now = deps.now();
    const record = await deps.repository.find(key);
    if (!record || record.expiresAt.getTime() <= now) return notFound(res);
    if (!record.completedAt) {
      // The last PATCH stored every byte but failed before marking the row: finish it here.
      const stored = await deps.storage.status(key);
      if (!stored || stored.offset !== stored.size || stored.size !== record.uploadLength) {
        return notFound(res);
      }
      await deps.repository.markCompleted(key, new Date(now));
    }
    const size = record.uploadLength;
    const etag = `"${key}.${size}"`;
    const maxAge = Math.min(MAX_AGE_SECONDS, Math.floor((record.expiresAt.getTime() - now) / 1000));
    res.set({
      'Accept-Ranges': 'bytes',
      'Cache-Control': `public, max-age=${maxAge}, immutable`,
      ETag: etag,
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'Content-Range, Content-Length, ETag, Accept-Ranges',
      'X-Content-Type-Options': 'nosniff',
    });
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag)) {
      res.status(304).end();
      return;
    }
    const ifRange = req.headers['if-range'];
    const request =
      ifRange === undefined || ifRange === etag
        ? parseRange(req.headers.range, size)
        : ({ kind: 'full' } as const);
    if (request.kind === 'unsatisfiable') {
      res.status(416).set('Content-Range', `bytes */${size}`).end();
      return;
    }
    const range = request.kind === 'partial' ? request.range : undefined;
    let body: Readable | undefined;
    if (req.method !== 'HEAD') {
      try {
        body = await deps.storage.read(key, range);
      } catch (error) {
        // A row whose bytes are gone (a crash during expiry): the next expiry run removes it.
        if (!isNotFound(error)) throw error;
        res.removeHeader('ETag');
        return notFound(res);
      }
    }
    res.type('application/octet-stream');
    if (range) {
      res.status(206).set({
        'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
        'Content-Length': String(range.end - range.start + 1),
      });
    } else {
      res.status(200).set('Content-Length', String(size));
    }
    if (!body) {
      res.end();
      return;
    }
    await pipeline(body, res).catch(() => {
      // The client went away or storage failed mid-stream: the socket is closed either way.
      res.destroy();
    });
  };
}
