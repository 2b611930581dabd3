import { ConfigError, parseEnv } from '@courier/config';
import { describe, expect, it } from 'vitest';
import { attachmentsEnv, attachmentsSettingsFromEnv } from './config.ts';
import { LocalAttachmentStorage } from './storage/local-storage.ts';
import { S3AttachmentStorage } from './storage/s3-storage.ts';

describe('attachments configuration', () => {
  it('defaults to local files in the given directory', () => {
    const settings = attachmentsSettingsFromEnv(parseEnv(attachmentsEnv, {}), '/tmp/courier-x');
    expect(settings.storage).toBeInstanceOf(LocalAttachmentStorage);
    expect(settings.limits).toEqual({});
    expect(settings.publicUrl).toBeUndefined();
  });

  it('builds S3 storage and limits from the environment', () => {
    const settings = attachmentsSettingsFromEnv(
      parseEnv(attachmentsEnv, {
        ATTACHMENTS_STORAGE: 's3',
        ATTACHMENTS_S3_BUCKET: 'courier-attachments',
        ATTACHMENTS_S3_ENDPOINT: 'http://minio.internal:9000',
        ATTACHMENTS_S3_FORCE_PATH_STYLE: 'true',
        ATTACHMENTS_PUBLIC_URL: 'https://cdn.example.org',
        ATTACHMENTS_UPLOAD_SECRET: 'u'.repeat(32),
        ATTACHMENTS_MAX_UPLOAD_BYTES: '1000',
        ATTACHMENTS_RETENTION_DAYS: '2',
        ATTACHMENTS_UPLOAD_FORM_TTL_SECONDS: '60',
      }),
      '/unused',
    );
    expect(settings.storage).toBeInstanceOf(S3AttachmentStorage);
    expect(settings.publicUrl).toBe('https://cdn.example.org');
    expect(settings.uploadSecret).toHaveLength(32);
    expect(settings.limits).toEqual({
      maxUploadBytes: 1000,
      retentionSeconds: 172_800,
      uploadFormTtlSeconds: 60,
    });
  });

  it('names what is wrong', () => {
    expect(() => parseEnv(attachmentsEnv, { ATTACHMENTS_STORAGE: 's3' })).toThrow(
      /ATTACHMENTS_S3_BUCKET/,
    );
    expect(() => parseEnv(attachmentsEnv, { ATTACHMENTS_UPLOAD_SECRET: 'short' })).toThrow(
      ConfigError,
    );
  });
});
