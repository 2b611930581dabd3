import path from 'node:path';
import {
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { mountAttachmentRoutes } from './http/upload-routes.ts';
import { attachmentsInternalRoutes } from './internal/routes.ts';
import { permissions } from './permissions.ts';
import { AttachmentRepository } from './repositories/attachment-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { DEFAULT_ATTACHMENT_LIMITS, type AttachmentLimits } from './services/attachment-limits.ts';
import { AttachmentExpiry } from './services/expiry-service.ts';
import { UploadCredentials, deriveUploadSecret } from './services/upload-credentials.ts';
import { UploadFormService } from './services/upload-form-service.ts';
import type { AttachmentStorage } from './storage/attachment-storage.ts';
import { LocalAttachmentStorage } from './storage/local-storage.ts';

export {
  attachmentsEnv,
  attachmentsSettingsFromEnv,
  type AttachmentsEnv,
  type AttachmentsEnvSettings,
} from './config.ts';
export { DEFAULT_ATTACHMENT_LIMITS, type AttachmentLimits } from './services/attachment-limits.ts';
export type { UploadForm, UploadHeader } from './services/upload-form-service.ts';
export type { AttachmentStorage, ByteRange, StoredUpload } from './storage/attachment-storage.ts';
export { LocalAttachmentStorage } from './storage/local-storage.ts';
export { S3AttachmentStorage, type S3AttachmentStorageOptions } from './storage/s3-storage.ts';
export { AttachmentExpiry } from './services/expiry-service.ts';

/** The attachments subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** Settings of {@link createAttachmentsServer} (all optional). */
export interface AttachmentsServerOptions {
  /**
   * Public origin of the upload and download routes (no trailing slash), e.g. a CDN's.
   * @default the server's own origin once it listens
   */
  readonly publicUrl?: string;
  /**
   * Where attachment bytes live.
   * @default LocalAttachmentStorage in `storageDir`
   */
  readonly storage?: AttachmentStorage;
  /**
   * Directory of the default local storage.
   * @default `.data/attachments` under the working directory
   */
  readonly storageDir?: string;
  /**
   * Key of the upload credentials (≥ 32 bytes), the same on every attachments instance.
   * @default derived from the router secret with HKDF
   */
  readonly uploadSecret?: Uint8Array;
  /** Changes to {@link DEFAULT_ATTACHMENT_LIMITS}. */
  readonly limits?: Partial<AttachmentLimits>;
  /**
   * How often the expiry job runs, in ms.
   * @default 600_000
   */
  readonly expiryIntervalMs?: number;
  /** Clock of credentials, retention and expiry (tests move it). @default Date.now */
  readonly now?: () => number;
}

/** An attachments server and what in-process callers (tests, benches) may use. */
export type AttachmentsServer = SubgraphServer & {
  /** The expiry job (also run on a timer). */
  readonly expiry: AttachmentExpiry;
  readonly storage: AttachmentStorage;
  /** Public origin of the upload and download routes. */
  readonly publicUrl: string;
};

/**
 * Builds the attachments subgraph on a shared runtime (not yet listening): the
 * `createAttachmentUploadForm` mutation, the public TUS upload and ranged download routes
 * (mounted on the same server, outside the router secret), the avatar form internal API for
 * accounts and the expiry job.
 */
export function createAttachmentsServer(
  runtime: SubgraphRuntime,
  options: AttachmentsServerOptions = {},
): AttachmentsServer {
  const common = serverOptionsFrom(runtime, 'attachments');
  const limits: AttachmentLimits = { ...DEFAULT_ATTACHMENT_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const storage =
    options.storage ??
    new LocalAttachmentStorage(
      options.storageDir ?? path.join(process.cwd(), '.data', 'attachments'),
    );
  const credentials = new UploadCredentials(
    options.uploadSecret ?? deriveUploadSecret(runtime.routerSecret),
  );
  const repository = new AttachmentRepository(runtime.prisma);
  // Called only once `server` exists (forms and routes are served after listen).
  const publicUrl = (): string =>
    options.publicUrl?.replace(/\/$/, '') ?? (server.url ? new URL(server.url).origin : '');
  const forms = new UploadFormService({
    credentials,
    limits: runtime.limits,
    attachmentLimits: limits,
    publicUrl,
    now,
  });
  const expiry = new AttachmentExpiry({ repository, storage, now });
  const server: SubgraphServer = createSubgraphServer(
    { name: 'attachments', typeDefs, resolvers, permissions },
    {
      ...common,
      extraRoutes: (app) => {
        mountAttachmentRoutes(app, {
          credentials,
          repository,
          storage,
          publicUrl,
          maxUploadBytes: limits.maxUploadBytes,
          retentionMs: limits.retentionSeconds * 1000,
          now,
          logger: common.logger,
        });
      },
      internalRoutes: attachmentsInternalRoutes(forms, common.logger),
      maintenance: [
        {
          name: 'delete expired attachments',
          intervalMs: options.expiryIntervalMs ?? 600_000,
          run: () => expiry.run(),
        },
      ],
      buildContext: (base) => ({ ...base, limits, forms }),
    },
  );
  return Object.defineProperties(server, {
    expiry: { value: expiry, enumerable: true },
    storage: { value: storage, enumerable: true },
    publicUrl: { get: publicUrl, enumerable: true },
  }) as AttachmentsServer;
}
