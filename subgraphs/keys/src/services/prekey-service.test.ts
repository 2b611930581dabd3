import { createHash } from 'node:crypto';
import type { AuthenticatedDevice } from '@courier/auth';
import { IdentityKeyPair, KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it, vi } from 'vitest';
import type { KeyTarget } from '../clients/accounts-client.ts';
import type { DeviceKeysRepository } from '../repositories/device-keys-repository.ts';
import type { PreKeyRepository } from '../repositories/prekey-repository.ts';
import { PreKeyService, repeatedUseKeyDigest } from './prekey-service.ts';

const ACI = '6a1b2c3d-1111-4222-8333-944455556666';
const CALLER: AuthenticatedDevice = {
  aci: '0f0e0d0c-1111-4222-8333-944455556666',
  deviceId: 1,
} as AuthenticatedDevice;

function service(target: KeyTarget | null = null) {
  const identity = IdentityKeyPair.generate();
  const store = vi.fn(async () => undefined);
  const preKeys = { store, count: vi.fn(), repeatedUseKeys: vi.fn(), claim: vi.fn() };
  const deviceKeys = {
    findIdentityKeys: vi.fn(async () => ({ ACI: identity.publicKey.serialize() })),
  };
  const accounts = {
    findTarget: vi.fn(async () => target),
    isBlocked: vi.fn(async () => false),
  };
  const limits = { consume: vi.fn(async () => undefined) };
  const prekeys = new PreKeyService({
    preKeys: preKeys as unknown as PreKeyRepository,
    deviceKeys: deviceKeys as unknown as DeviceKeysRepository,
    accounts,
    limits,
  });
  return { prekeys, identity, store, accounts, limits };
}

const badInput = (field: string) =>
  expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field } });

describe('PreKeyService', () => {
  it('computes Signal’s key-check digest with 8-byte big-endian ids', () => {
    const identityKey = new Uint8Array(33).fill(5);
    const ec = { keyId: 0x010203, publicKey: new Uint8Array(33).fill(7) };
    const kyber = { keyId: 9, publicKey: new Uint8Array(1569).fill(8) };
    const expected = createHash('sha256')
      .update(identityKey)
      .update(Buffer.from([0, 0, 0, 0, 0, 1, 2, 3]))
      .update(ec.publicKey)
      .update(Buffer.from([0, 0, 0, 0, 0, 0, 0, 9]))
      .update(kyber.publicKey)
      .digest();
    expect(Buffer.from(repeatedUseKeyDigest(identityKey, ec, kyber))).toEqual(expected);
  });

  it('verifies every key before storing anything', async () => {
    const { prekeys, identity, store } = service();
    const kyber = KEMKeyPair.generate().getPublicKey().serialize();
    const good = { keyId: 1, publicKey: kyber, signature: identity.privateKey.sign(kyber) };
    const ec = PrivateKey.generate().getPublicKey().serialize();
    await expect(
      prekeys.setPreKeys(CALLER, 'ACI', {
        ecPreKeys: [{ keyId: 1, publicKey: ec }],
        kyberPreKeys: [good, { ...good, keyId: 2, signature: new Uint8Array(64) }],
      }),
    ).rejects.toThrow(badInput('kyberPreKeys[1]'));
    await expect(
      prekeys.setPreKeys(CALLER, 'ACI', {
        ecPreKeys: Array.from({ length: 101 }, (_, keyId) => ({ keyId, publicKey: ec })),
      }),
    ).rejects.toThrow(badInput('ecPreKeys'));
    await expect(
      prekeys.setPreKeys(CALLER, 'ACI', { ecPreKeys: [{ keyId: 0x1000000, publicKey: ec }] }),
    ).rejects.toThrow(badInput('ecPreKeys[0]'));
    expect(store).not.toHaveBeenCalled();
    await prekeys.setPreKeys(CALLER, 'ACI', { kyberPreKeys: [good] });
    expect(store).toHaveBeenCalledOnce();
  });

  it('spends a prekeys permit per caller device and target device, before looking anything up', async () => {
    const { prekeys, accounts, limits } = service(null);
    await expect(
      prekeys.preKeyBundle({ kind: 'device', device: CALLER }, { serviceId: `PNI:${ACI}` }),
    ).rejects.toThrow(expect.objectContaining({ extensions: { code: 'NOT_FOUND' } }));
    expect(limits.consume).toHaveBeenCalledWith('prekeys', `${CALLER.aci}.1__${ACI}.*`);
    expect(accounts.findTarget).toHaveBeenCalledWith(`PNI:${ACI}`);
  });
});
