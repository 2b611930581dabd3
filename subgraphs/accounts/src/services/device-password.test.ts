import { describe, expect, it } from 'vitest';
import { checkPasswordShape, hashPassword, passwordMatches } from './device-password.ts';

describe('device passwords', () => {
  it('matches the password it hashed and nothing else', () => {
    const stored = hashPassword('correct horse battery staple');
    expect(passwordMatches('correct horse battery staple', stored)).toBe(true);
    expect(passwordMatches('correct horse battery stapler', stored)).toBe(false);
  });

  it('salts every hash', () => {
    const a = hashPassword('the same password 123');
    const b = hashPassword('the same password 123');
    expect(Buffer.from(a.hash).equals(Buffer.from(b.hash))).toBe(false);
  });

  it('refuses passwords shorter than 16 or longer than 128 characters', () => {
    expect(() => checkPasswordShape('short')).toThrow(/16 to 128/);
    expect(() => checkPasswordShape('x'.repeat(129))).toThrow(/16 to 128/);
    expect(() => checkPasswordShape('x'.repeat(16))).not.toThrow();
  });
});
