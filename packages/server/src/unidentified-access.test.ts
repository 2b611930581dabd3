import { describe, expect, it } from 'vitest';
import { unidentifiedAccessKeyMatches } from './unidentified-access.ts';

describe('unidentifiedAccessKeyMatches', () => {
  const key = new Uint8Array(16).fill(3);

  it('matches only the stored 16-byte key', () => {
    expect(unidentifiedAccessKeyMatches(key, new Uint8Array(16).fill(3))).toBe(true);
    expect(unidentifiedAccessKeyMatches(key, new Uint8Array(16))).toBe(false);
    expect(unidentifiedAccessKeyMatches(key, key.subarray(0, 15))).toBe(false);
  });

  it('matches nothing for an account without a well-formed key, the zero key included', () => {
    expect(unidentifiedAccessKeyMatches(null, new Uint8Array(16))).toBe(false);
    expect(unidentifiedAccessKeyMatches(new Uint8Array(8), new Uint8Array(16))).toBe(false);
  });
});
