import { booleanFlag, z } from '@courier/config';
import type { AttachmentLimits } from './services/attachment-limits.ts';
import type { AttachmentStorage } from './storage/attachment-storage.ts';
import { LocalAttachmentStorage } from './storage/local-storage.ts';
import { S3AttachmentStorage } from './storage/s3-storage.ts';

/**
 * Environment of the attachments service (stand-alone process and embedded mode). S3
 * credentials come from the AWS SDK's usual sources (`AWS_ACCESS_KEY_ID`, profiles, roles).
 */
export const attachmentsEnv = z
  .object({
    /** Public origin clients upload to and download from (e.g. a CDN in front of this service). */
    ATTACHMENTS_PUBLIC_URL: z.url().optional(),
    ATTACHMENTS_STORAGE: z.enum(['local', 's3']).default('local'),
    /** Directory of the local storage. */
    ATTACHMENTS_DIR: z.string().min(1).optional(),
    ATTACHMENTS_S3_BUCKET: z.string().min(1).optional(),
    ATTACHMENTS_S3_REGION: z.string().min(1).default('us-east-1'),
    ATTACHMENTS_S3_ENDPOINT: z.url().optional(),
    ATTACHMENTS_S3_FORCE_PATH_STYLE: booleanFlag.default(false),
    /** Key of the upload credentials; unset: derived from ROUTER_SECRET. */
    ATTACHMENTS_UPLOAD_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    ATTACHMENTS_MAX_UPLOAD_BYTES: z.coerce.number().int().positive().optional(),
    ATTACHMENTS_RETENTION_DAYS: z.coerce.number().positive().optional(),
    ATTACHMENTS_UPLOAD_FORM_TTL_SECONDS: z.coerce.number().int().positive().optional(),
  })
  .refine((env) => env.ATTACHMENTS_STORAGE !== 's3' || env.ATTACHMENTS_S3_BUCKET, {
    message: 'ATTACHMENTS_S3_BUCKET is required with ATTACHMENTS_STORAGE=s3',
    path: ['ATTACHMENTS_S3_BUCKET'],
  });

/** Parsed {@link attachmentsEnv}. */
export type AttachmentsEnv = z.output<typeof attachmentsEnv>;

/** The attachments settings an environment describes. */
export interface AttachmentsEnvSettings {
  readonly storage: AttachmentStorage;
  readonly publicUrl?: string;
  readonly uploadSecret?: Uint8Array;
  readonly limits: Partial<AttachmentLimits>;
}

/** Builds storage and limits from {@link attachmentsEnv}; `defaultDir` when ATTACHMENTS_DIR is unset. */
export function attachmentsSettingsFromEnv(
  env: AttachmentsEnv,
  defaultDir: string,
): AttachmentsEnvSettings {
  const storage =
    env.ATTACHMENTS_STORAGE === 's3'
      ? new S3AttachmentStorage({
          bucket: env.ATTACHMENTS_S3_BUCKET!,
          client: {
            region: env.ATTACHMENTS_S3_REGION,
            forcePathStyle: env.ATTACHMENTS_S3_FORCE_PATH_STYLE,
            ...(env.ATTACHMENTS_S3_ENDPOINT ? { endpoint: env.ATTACHMENTS_S3_ENDPOINT } : {}),
          },
        })
      : new LocalAttachmentStorage(env.ATTACHMENTS_DIR ?? defaultDir);
  return {
    storage,
    ...(env.ATTACHMENTS_PUBLIC_URL ? { publicUrl: env.ATTACHMENTS_PUBLIC_URL } : {}),
    ...(env.ATTACHMENTS_UPLOAD_SECRET
      ? { uploadSecret: new Uint8Array(Buffer.from(env.ATTACHMENTS_UPLOAD_SECRET, 'utf8')) }
      : {}),
    limits: {
      ...(env.ATTACHMENTS_MAX_UPLOAD_BYTES
        ? { maxUploadBytes: env.ATTACHMENTS_MAX_UPLOAD_BYTES }
        : {}),
      ...(env.ATTACHMENTS_RETENTION_DAYS
        ? { retentionSeconds: Math.round(env.ATTACHMENTS_RETENTION_DAYS * 86_400) }
        : {}),
      ...(env.ATTACHMENTS_UPLOAD_FORM_TTL_SECONDS
        ? { uploadFormTtlSeconds: env.ATTACHMENTS_UPLOAD_FORM_TTL_SECONDS }
        : {}),
    },
  };
}
