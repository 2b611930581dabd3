import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  KEY_BYTES,
  UploadCredentials,
  credentialFromAuthorization,
  deriveUploadSecret,
  type UploadGrant,
} from './upload-credentials.ts';

const secret = new Uint8Array(randomBytes(32));
const grant: UploadGrant = {
  key: randomBytes(KEY_BYTES).toString('base64url'),
  length: 5 * 1024 * 1024 + 48,
  exactLength: true,
  expiresAt: 1_800_000_000_000,
};

describe('UploadCredentials', () => {
  const credentials = new UploadCredentials(secret);

  it('round-trips a grant until it expires', () => {
    const token = credentials.sign(grant);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(credentials.verify(token, grant.expiresAt - 1)).toEqual({ ok: true, grant });
    expect(credentials.verify(token, grant.expiresAt)).toEqual({ ok: false, reason: 'expired' });
  });

  it('binds key, length and expiry: any changed byte is refused', () => {
    const token = credentials.sign(grant);
    const [payload, mac] = token.split('.') as [string, string];
    const bytes = Buffer.from(payload, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const changed = Buffer.from(bytes);
      changed[i] = changed[i]! ^ 1;
      expect(credentials.verify(`${changed.toString('base64url')}.${mac}`, 0)).toEqual({
        ok: false,
        reason: 'invalid',
      });
    }
  });

  it('refuses credentials signed with another secret', () => {
    const other = new UploadCredentials(new Uint8Array(randomBytes(32)));
    expect(credentials.verify(other.sign(grant), 0)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('tells missing from malformed', () => {
    expect(credentials.verify(undefined, 0)).toEqual({ ok: false, reason: 'missing' });
    for (const token of ['x', 'a.b', 'a.b.c', `${credentials.sign(grant)}.x`]) {
      expect(credentials.verify(token, 0)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuses short secrets and malformed keys', () => {
    expect(() => new UploadCredentials(new Uint8Array(16))).toThrow(RangeError);
    expect(() => credentials.sign({ ...grant, key: 'short' })).toThrow(RangeError);
  });

  it('derives a distinct 32-byte key from the router secret', () => {
    const derived = deriveUploadSecret('r'.repeat(64));
    expect(derived).toHaveLength(32);
    expect(Buffer.from(derived)).toEqual(Buffer.from(deriveUploadSecret('r'.repeat(64))));
    expect(Buffer.from(derived)).not.toEqual(Buffer.from(deriveUploadSecret('s'.repeat(64))));
  });

  it('reads bearer credentials only', () => {
    expect(credentialFromAuthorization('Bearer abc.def')).toBe('abc.def');
    expect(credentialFromAuthorization('Basic abc')).toBeUndefined();
    expect(credentialFromAuthorization(undefined)).toBeUndefined();
  });
});
