import { describe, expect, it } from 'vitest';
import { TokenService } from './index.ts';

const SECRET = 'a'.repeat(32);
const ACI = '5a1f3d6e-0d8b-4c3e-9a51-2f0e7c1b9d42';
const CID = '0b7d8a52-9c1e-4f3a-8e6d-2a4b6c8d0e1f';

describe('TokenService', () => {
  it('issues a token that verifies as the same device with its expiry', async () => {
    const tokens = new TokenService({ secret: SECRET, ttlSeconds: 60, now: () => 1_000_000 });
    const { token, expiresAt } = await tokens.issue({ aci: ACI, deviceId: 3, credentialId: CID });
    expect(expiresAt).toBe(1_060_000);
    expect(await tokens.verify(token)).toEqual({
      kind: 'device',
      device: { aci: ACI, deviceId: 3, credentialId: CID, expiresAt: 1_060_000 },
    });
  });

  it('rejects an expired token as expired', async () => {
    let now = 1_000_000;
    const tokens = new TokenService({ secret: SECRET, ttlSeconds: 60, now: () => now });
    const { token } = await tokens.issue({ aci: ACI, deviceId: 1, credentialId: CID });
    now += 61_000;
    expect(await tokens.verify(token)).toEqual({ kind: 'rejected', reason: 'expired' });
  });

  it('rejects a token signed with another secret, or altered', async () => {
    const mine = new TokenService({ secret: SECRET });
    const theirs = new TokenService({ secret: 'b'.repeat(32) });
    const { token } = await theirs.issue({ aci: ACI, deviceId: 1, credentialId: CID });
    expect((await mine.verify(token)).kind).toBe('rejected');
    const own = (await mine.issue({ aci: ACI, deviceId: 1, credentialId: CID })).token;
    const [header, payload, signature] = own.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), dev: 2 }),
    ).toString('base64url');
    expect((await mine.verify(`${header}.${forgedPayload}.${signature}`)).kind).toBe('rejected');
  });

  it('reads Authorization headers: absent is anonymous, other schemes are malformed', async () => {
    const tokens = new TokenService({ secret: SECRET });
    const { token } = await tokens.issue({ aci: ACI, deviceId: 1, credentialId: CID });
    expect(await tokens.verifyAuthorization(undefined)).toEqual({ kind: 'anonymous' });
    expect(await tokens.verifyAuthorization(`Basic ${token}`)).toEqual({
      kind: 'rejected',
      reason: 'malformed',
    });
    expect((await tokens.verifyAuthorization(`Bearer ${token}`)).kind).toBe('device');
  });

  it('refuses a short secret', () => {
    expect(() => new TokenService({ secret: 'short' })).toThrow(/32 characters/);
  });
});
