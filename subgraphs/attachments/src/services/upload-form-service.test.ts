import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@courier/errors';
import { createRateLimits } from '@courier/limits';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ATTACHMENT_LIMITS } from './attachment-limits.ts';
import { KEY_PATTERN, UploadCredentials } from './upload-credentials.ts';
import { UploadFormService } from './upload-form-service.ts';

const NOW = 1_800_000_000_000;
const aci = '6f1e2c1a-8d5b-4c1e-9a3f-2b7d0e4c9a11';

function setup(overrides: Parameters<typeof createRateLimits>[0] = {}) {
  const credentials = new UploadCredentials(new Uint8Array(randomBytes(32)));
  const limits = createRateLimits({ now: () => NOW, ...overrides });
  const service = new UploadFormService({
    credentials,
    limits,
    attachmentLimits: DEFAULT_ATTACHMENT_LIMITS,
    publicUrl: () => 'https://cdn.example.org',
    now: () => NOW,
  });
  return { credentials, service };
}

const bearer = (form: { headers: readonly { name: string; value: string }[] }) =>
  form.headers.find((header) => header.name === 'Authorization')!.value.slice('Bearer '.length);

describe('UploadFormService', () => {
  it('issues a fresh key and a credential bound to it and the exact length', async () => {
    const { credentials, service } = setup();
    const form = await service.createAttachmentForm(aci, 1234);
    expect(form).toMatchObject({
      cdn: 3,
      uploadUrl: 'https://cdn.example.org/attachments',
      expiresAt: NOW + 3600_000,
    });
    expect(form.key).toMatch(KEY_PATTERN);
    expect(form.headers).toContainEqual({ name: 'Tus-Resumable', value: '1.0.0' });
    expect(credentials.verify(bearer(form), NOW)).toEqual({
      ok: true,
      grant: { key: form.key, length: 1234, exactLength: true, expiresAt: form.expiresAt },
    });
    const second = await service.createAttachmentForm(aci, 1234);
    expect(second.key).not.toBe(form.key);
  });

  it('refuses bad and over-size lengths before spending rate limit', async () => {
    const { service } = setup({ overrides: { attachmentCreate: { capacity: 1 } } });
    for (const bad of [0, -1, 1.5, Number.NaN, '12']) {
      await expect(service.createAttachmentForm(aci, bad)).rejects.toMatchObject({
        extensions: { code: ErrorCode.BAD_USER_INPUT },
      });
    }
    await expect(
      service.createAttachmentForm(aci, DEFAULT_ATTACHMENT_LIMITS.maxUploadBytes + 1),
    ).rejects.toMatchObject({ extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE } });
    await service.createAttachmentForm(aci, DEFAULT_ATTACHMENT_LIMITS.maxUploadBytes);
    await expect(service.createAttachmentForm(aci, 1)).rejects.toMatchObject({
      extensions: { code: ErrorCode.RATE_LIMITED },
    });
  });

  it('spends the bytes budget by declared length', async () => {
    const { service } = setup({
      overrides: { attachmentBytes: { capacity: 3000, periodSeconds: 1 } },
    });
    await service.createAttachmentForm(aci, 2000);
    await expect(service.createAttachmentForm(aci, 2000)).rejects.toMatchObject({
      extensions: { code: ErrorCode.RATE_LIMITED },
    });
    await service.createAttachmentForm(aci, 1000);
  });

  it('issues avatar forms up to 10 MiB, exact or bounded', async () => {
    const { credentials, service } = setup();
    const exact = service.createAvatarForm(40_000);
    expect(credentials.verify(bearer(exact), NOW)).toMatchObject({
      grant: { length: 40_000, exactLength: true },
    });
    const bounded = service.createAvatarForm(null);
    expect(credentials.verify(bearer(bounded), NOW)).toMatchObject({
      grant: { length: 10 * 1024 * 1024, exactLength: false },
    });
    expect(() => service.createAvatarForm(10 * 1024 * 1024 + 1)).toThrow(/avatar limit/);
  });
});
