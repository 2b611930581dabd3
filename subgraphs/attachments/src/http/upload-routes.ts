import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Upload } from '@tus/utils';
import { MemoryLocker, Server as TusServer } from '@tus/server';
import type { Logger } from '@courier/logging';
import type { Express, NextFunction, Request, Response } from 'express';
import type { AttachmentRepository } from '../repositories/attachment-repository.ts';
import {
  credentialFromAuthorization,
  KEY_PATTERN,
  type CredentialRejection,
  type UploadCredentials,
  type UploadGrant,
} from '../services/upload-credentials.ts';
import type { AttachmentStorage } from '../storage/attachment-storage.ts';
import { downloadHandler } from './download.ts';

/** What the public upload and download routes need. */
export interface AttachmentRoutesDeps {
  readonly credentials: UploadCredentials;
  readonly repository: AttachmentRepository;
  readonly storage: AttachmentStorage;
  /** Public origin of these routes (TUS `Location` headers point there). */
  readonly publicUrl: () => string;
  /** Largest upload (announced as `Tus-Max-Size`). */
  readonly maxUploadBytes: number;
  /** How long an attachment is kept after its upload starts, in ms. */
  readonly retentionMs: number;
  readonly now: () => number;
  readonly logger: Logger;
}

/** The TUS collection path; an upload lives at `/attachments/<key>`, downloads too. */
export const ATTACHMENTS_PATH = '/attachments';

const REJECTION_TEXT: Record<CredentialRejection | 'wrong-key', string> = {
  missing: 'Upload credential required (Authorization: Bearer <credential> from the upload form)',
  malformed: 'Malformed upload credential',
  invalid: 'Invalid upload credential',
  expired: 'Upload credential expired: request a new upload form',
  'wrong-key': 'This upload credential is for another attachment',
};

/** A TUS-shaped error that `@tus/server` turns into a response. */
function tusError(status: number, text: string): { status_code: number; body: string } {
  return { status_code: status, body: `${text}\n` };
}

function refuse(res: Response, status: number, text: string): void {
  res
    .status(status)
    .set({
      'Tus-Resumable': '1.0.0',
      'Cache-Control': 'no-store',
      'Access-Control-Allow-Origin': '*',
    })
    .type('text/plain')
    .send(`${text}\n`);
}

/**
 * Mounts the public attachment routes on the subgraph's Express app (no router secret: like a
 * CDN, these are reached by clients directly):
 *
 * - TUS 1.0 (`@tus/server`: core, creation, creation-with-upload, termination; `OPTIONS` for
 *   discovery): `POST /attachments` creates the upload named by the credential's key,
 *   `PATCH`/`HEAD`/`DELETE /attachments/<key>` append, query the offset and terminate it. Every
 *   request but `OPTIONS` needs the form's credential (`Authorization: Bearer …`), checked before
 *   the TUS server runs: missing, forged or expired → 401, another key's → 403, an
 *   `Upload-Length` other than the form's → 400 (413 when larger), deferred lengths → 400,
 *   a second creation under the same key → 409, bytes past the declared length → 413 (nothing
 *   of that request is written), termination of a finished upload → 400. Uploads are locked per
 *   process (`MemoryLocker`): route one upload URL to one instance, or plug a shared locker.
 * - `GET`/`HEAD /attachments/<key>` (a `HEAD` without `Tus-Resumable`): the download.
 *
 * Nothing here logs keys, credentials, addresses or sizes.
 */
export function mountAttachmentRoutes(app: Express, deps: AttachmentRoutesDeps): TusServer {
  const grantOf = (authorization: string | null | undefined): UploadGrant => {
    const result = deps.credentials.verify(
      credentialFromAuthorization(authorization ?? undefined),
      deps.now(),
    );
    if (!result.ok) throw tusError(401, REJECTION_TEXT[result.reason]);
    return result.grant;
  };
  // Announce what is served: lengths are never deferred, and expiry is ours, not the store's.
  deps.storage.datastore.extensions = ['creation', 'creation-with-upload', 'termination'];
  const locker = new MemoryLocker();
  const tus = new TusServer({
    locker,
    path: ATTACHMENTS_PATH,
    datastore: deps.storage.datastore,
    namingFunction: (req) => grantOf(req.headers.get('authorization')).key,
    maxSize: (req, id) =>
      id === null ? deps.maxUploadBytes : grantOf(req.headers.get('authorization')).length,
    generateUrl: (_req, { id }) => `${deps.publicUrl()}${ATTACHMENTS_PATH}/${id}`,
    async onUploadCreate(req, upload: Upload) {
      const grant = grantOf(req.headers.get('authorization'));
      const now = deps.now();
      const created = await deps.repository.create({
        key: upload.id,
        uploadLength: upload.size ?? 0,
        createdAt: new Date(now),
        uploadExpiresAt: new Date(grant.expiresAt),
        expiresAt: new Date(now + deps.retentionMs),
      });
      if (!created) throw tusError(409, 'An upload already exists under this key');
      return {};
    },
    async onUploadFinish(_req, upload: Upload) {
      await deps.repository.markCompleted(upload.id, new Date(deps.now()));
      return {};
    },
    onResponseError(_req, error) {
      if ('status_code' in error) return undefined;
      deps.logger.error({ err: error }, 'attachment upload failed');
      return tusError(500, 'Internal server error');
    },
  });

  /**
   * TUS termination, done here rather than by `@tus/server` so that the row goes with the bytes
   * before the answer: under the upload's lock (an in-flight `PATCH` is asked to stop), a
   * finished upload is refused (400: recipients may be fetching it), else bytes, then row.
   */
  const terminate = async (req: Request, res: Response): Promise<void> => {
    const key = String(req.params['key']);
    const lock = locker.newLock(key);
    await lock.lock(new AbortController().signal, () => undefined);
    try {
      const stored = await deps.storage.status(key);
      if (!stored) return refuse(res, 404, 'Not found');
      if (stored.offset === stored.size) {
        return refuse(res, 400, 'A finished upload cannot be terminated');
      }
      await deps.storage.remove(key);
      await deps.repository.delete([key]);
    } finally {
      await lock.unlock();
    }
    res.status(204).set({ 'Tus-Resumable': '1.0.0', 'Access-Control-Allow-Origin': '*' }).end();
  };

  const handleTus = (req: Request, res: Response, next: NextFunction): void => {
    tus.handle(req as IncomingMessage, res as ServerResponse).catch(next);
  };

  /** Checks the credential (and, for creation, the declared length) before TUS runs. */
  const guard = (req: Request, res: Response, next: NextFunction): void => {
    const result = deps.credentials.verify(
      credentialFromAuthorization(req.headers.authorization),
      deps.now(),
    );
    if (!result.ok) return refuse(res, 401, REJECTION_TEXT[result.reason]);
    const { grant } = result;
    const key = req.params['key'];
    if (key !== undefined) {
      if (key !== grant.key) return refuse(res, 403, REJECTION_TEXT['wrong-key']);
      return next();
    }
    if (req.headers['upload-defer-length'] !== undefined || req.headers['upload-concat']) {
      return refuse(res, 400, 'Upload-Length is required (no deferred or concatenated uploads)');
    }
    const declared = req.get('upload-length');
    const length = declared !== undefined && /^\d{1,15}$/.test(declared) ? Number(declared) : NaN;
    if (Number.isNaN(length)) return refuse(res, 400, 'Invalid or missing Upload-Length');
    if (length > grant.length) {
      return refuse(res, 413, `Upload-Length exceeds the form's ${grant.length} bytes`);
    }
    if (grant.exactLength ? length !== grant.length : length < 1) {
      return refuse(res, 400, "Upload-Length differs from the form's uploadLength");
    }
    next();
  };

  const knownKey = (req: Request, res: Response, next: NextFunction): void => {
    if (KEY_PATTERN.test(String(req.params['key']))) next();
    else refuse(res, 404, 'Not found');
  };

  const download = downloadHandler(deps);
  const item = `${ATTACHMENTS_PATH}/:key`;
  app.options([ATTACHMENTS_PATH, item], handleTus);
  app.post(ATTACHMENTS_PATH, guard, handleTus);
  app.patch(item, knownKey, guard, handleTus);
  app.delete(item, knownKey, guard, (req, res, next) => {
    terminate(req, res).catch(next);
  });
  app.head(item, (req, res, next) => {
    if (req.headers['tus-resumable'] === undefined) return next('route');
    knownKey(req, res, () => guard(req, res, () => handleTus(req, res, next)));
  });
  app.get(item, (req, res, next) => {
    download(req, res).catch(next);
  });
  return tus;
}
