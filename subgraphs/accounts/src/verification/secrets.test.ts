import { describe, expect, it } from 'vitest';
import {
  VerificationCodeHasher,
  assertCodeFormat,
  hashSessionId,
  newSessionId,
  newVerificationCode,
} from './secrets.ts';

const SECRET = 'x'.repeat(32);

describe('session ids', () => {
  it('are 32 random bytes in base64url and hash to 32 bytes', () => {
    const ids = new Set(Array.from({ length: 100 }, newSessionId));
    expect(ids.size).toBe(100);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    }
    const id = newSessionId();
    expect(hashSessionId(id)).toHaveLength(32);
    expect(hashSessionId(id).equals(hashSessionId(id))).toBe(true);
  });

  it.each(['', 'short', `${'A'.repeat(42)}=`, `${'A'.repeat(44)}`, `${'A'.repeat(42)}+`])(
    'refuses the malformed id %j',
    (id) => {
      expect(() => hashSessionId(id)).toThrow(
        expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'sessionId' } }),
      );
    },
  );
});

describe('verification codes', () => {
  it('are six digits, leading zeros kept, spread over the whole range', () => {
    const codes = Array.from({ length: 2000 }, newVerificationCode);
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(new Set(codes.map((code) => code[0])).size).toBe(10);
  });

  it.each(['12345', '1234567', '12345a', ' 123456', '١٢٣٤٥٦'])('refuses the code %j', (code) => {
    expect(() => assertCodeFormat(code)).toThrow(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'code' } }),
    );
  });

  it('hashes with a key and binds the hash to the session', () => {
    const hasher = new VerificationCodeHasher(SECRET);
    const session = hashSessionId(newSessionId());
    const other = hashSessionId(newSessionId());
    const stored = hasher.hash(session, '123456');
    expect(stored).toHaveLength(32);
    expect(hasher.matches(session, '123456', stored)).toBe(true);
    expect(hasher.matches(session, '123457', stored)).toBe(false);
    expect(hasher.matches(other, '123456', stored)).toBe(false);
    expect(hasher.matches(session, '123456', stored.subarray(0, 16))).toBe(false);
    const otherKey = new VerificationCodeHasher('y'.repeat(32));
    expect(otherKey.matches(session, '123456', stored)).toBe(false);
    expect(() => new VerificationCodeHasher('short')).toThrow(/32 characters/);
  });
});
