import { SignJWT, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenService, tokenKeyId } from './index.ts';

const OLD = 'o'.repeat(32);
const NEW = 'n'.repeat(32);
const DEVICE = {
  aci: '5a1f3d6e-0d8b-4c3e-9a51-2f0e7c1b9d42',
  deviceId: 2,
  credentialId: '0b7d8a52-9c1e-4f3a-8e6d-2a4b6c8d0e1f',
};

describe('TokenService key rotation', () => {
  it('keeps tokens of the previous key valid, signs new ones with the new kid, refuses retired keys', async () => {
    const before = new TokenService({ secret: OLD });
    const { token: old } = await before.issue(DEVICE);
    expect(decodeProtectedHeader(old).kid).toBe(tokenKeyId(OLD));

    const rotated = new TokenService({ secret: NEW, previousSecrets: [OLD] });
    expect((await rotated.verify(old)).kind).toBe('device');
    const { token: fresh } = await rotated.issue(DEVICE);
    expect(decodeProtectedHeader(fresh).kid).toBe(tokenKeyId(NEW));
    expect(rotated.currentKeyId).toBe(tokenKeyId(NEW));
    expect(tokenKeyId(NEW)).not.toBe(tokenKeyId(OLD));
    // Instances not yet rolled over (old key current, new key unknown) still serve the old tokens.
    expect((await before.verify(old)).kind).toBe('device');

    const retired = new TokenService({ secret: NEW });
    expect(await retired.verify(old)).toEqual({ kind: 'rejected', reason: 'invalid' });
    expect((await retired.verify(fresh)).kind).toBe('device');
  });

  it('refuses a token whose kid names another key than the one that signed it', async () => {
    const tokens = new TokenService({ secret: NEW, previousSecrets: [OLD] });
    const forged = await new SignJWT({ dev: 1, cid: DEVICE.credentialId })
      .setProtectedHeader({ alg: 'HS256', kid: tokenKeyId(NEW) })
      .setSubject(DEVICE.aci)
      .setIssuer('courier')
      .setAudience('courier')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(Buffer.from('x'.repeat(32)));
    expect((await tokens.verify(forged)).kind).toBe('rejected');
  });

  it('checks a token without kid (issued before key ids) against the current key only', async () => {
    const legacy = await new SignJWT({ dev: 1, cid: DEVICE.credentialId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(DEVICE.aci)
      .setIssuer('courier')
      .setAudience('courier')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(Buffer.from(OLD));
    expect((await new TokenService({ secret: OLD }).verify(legacy)).kind).toBe('device');
    expect(
      (await new TokenService({ secret: NEW, previousSecrets: [OLD] }).verify(legacy)).kind,
    ).toBe('rejected');
  });

  it('refuses a short previous key', () => {
    expect(() => new TokenService({ secret: NEW, previousSecrets: ['short'] })).toThrow(/32/);
  });
});
