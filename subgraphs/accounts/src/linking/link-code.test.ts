import { describe, expect, it } from 'vitest';
import { LINK_CODE_TTL_MS, LinkCodeSigner } from './link-code.ts';

const SECRET = 'a-server-secret-of-at-least-32-characters';
const ACI = '6f1c2a4e-9b3d-4c5e-8f7a-0123456789ab';
const PRIMARY_CREATED = new Date(1_764_000_000_123);

describe('link-device codes', () => {
  it('round-trips the account, the times and the primary device it was made for', () => {
    let now = 1_764_100_000_000;
    const signer = new LinkCodeSigner(SECRET, () => now);
    const { code, expiresAt } = signer.issue(ACI, PRIMARY_CREATED);
    expect(code).toMatch(/^[A-Za-z0-9_-]{108}$/);
    expect(expiresAt).toBe(now + LINK_CODE_TTL_MS);
    now += 60_000;
    const claims = signer.verify(code);
    expect(claims).toMatchObject({
      aci: ACI,
      issuedAt: now - 60_000,
      expiresAt,
      primaryCreatedAt: PRIMARY_CREATED.getTime(),
    });
    expect(claims.hash).toHaveLength(32);
  });

  it('makes a different code every time', () => {
    const signer = new LinkCodeSigner(SECRET, () => 1_764_100_000_000);
    expect(signer.issue(ACI, PRIMARY_CREATED).code).not.toBe(
      signer.issue(ACI, PRIMARY_CREATED).code,
    );
  });

  it('refuses expired codes and codes from the future', () => {
    let now = 1_764_100_000_000;
    const signer = new LinkCodeSigner(SECRET, () => now);
    const { code } = signer.issue(ACI, PRIMARY_CREATED);
    now += LINK_CODE_TTL_MS;
    expect(() => signer.verify(code)).toThrow(/Invalid or expired link code/);
    now -= LINK_CODE_TTL_MS + 5 * 60_000;
    expect(() => signer.verify(code)).toThrow(/Invalid or expired link code/);
  });

  it('refuses tampered, truncated and foreign codes with BAD_USER_INPUT on `code`', () => {
    const signer = new LinkCodeSigner(SECRET);
    const { code } = signer.issue(ACI, PRIMARY_CREATED);
    const other = new LinkCodeSigner(`${SECRET}-another`).issue(ACI, PRIMARY_CREATED).code;
    const flipped = `${code.slice(0, 10)}${code[10] === 'A' ? 'B' : 'A'}${code.slice(11)}`;
    for (const bad of [flipped, code.slice(1), `${code}A`, other, '', 'not a code']) {
      expect(() => signer.verify(bad)).toThrow(
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'code' }),
        }),
      );
    }
  });

  it('refuses a short secret', () => {
    expect(() => new LinkCodeSigner('short')).toThrow(/32 characters/);
  });
});
