import { IdentityKeyPair, KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import {
  parseIdentityKey,
  verifySignedEcPreKey,
  verifySignedKyberPreKey,
} from './key-validation.ts';

/** Keys as a Signal client makes them: identity, signed EC prekey, signed last-resort Kyber key. */
function generateTestIdentity() {
  const identity = IdentityKeyPair.generate();
  const ec = PrivateKey.generate().getPublicKey().serialize();
  const kyber = KEMKeyPair.generate().getPublicKey().serialize();
  return {
    identityKey: identity.publicKey.serialize(),
    signedPreKey: { keyId: 1, publicKey: ec, signature: identity.privateKey.sign(ec) },
    lastResortKyberPreKey: {
      keyId: 1,
      publicKey: kyber,
      signature: identity.privateKey.sign(kyber),
    },
  };
}

const badInput = (field: string) =>
  expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field } });

describe('key validation with libsignal', () => {
  const client = generateTestIdentity();
  const identityKey = parseIdentityKey(client.identityKey, 'aciIdentityKey');

  it('accepts keys a real client generated and signed', () => {
    expect(() => verifySignedEcPreKey(identityKey, client.signedPreKey, 'k')).not.toThrow();
    expect(() =>
      verifySignedKyberPreKey(identityKey, client.lastResortKyberPreKey, 'k'),
    ).not.toThrow();
  });

  it('refuses a key signed by another identity', () => {
    const other = generateTestIdentity();
    expect(() => verifySignedEcPreKey(identityKey, other.signedPreKey, 'aciSignedPreKey')).toThrow(
      badInput('aciSignedPreKey'),
    );
    expect(() =>
      verifySignedKyberPreKey(identityKey, other.lastResortKyberPreKey, 'aciPqLastResortPreKey'),
    ).toThrow(badInput('aciPqLastResortPreKey'));
  });

  it('refuses a flipped signature bit, a truncated key and a bad identity key', () => {
    const signature = new Uint8Array(client.signedPreKey.signature);
    signature[10]! ^= 1;
    expect(() =>
      verifySignedEcPreKey(identityKey, { ...client.signedPreKey, signature }, 'k'),
    ).toThrow(badInput('k'));
    expect(() =>
      verifySignedKyberPreKey(
        identityKey,
        {
          ...client.lastResortKyberPreKey,
          publicKey: client.lastResortKyberPreKey.publicKey.slice(0, 100),
        },
        'k',
      ),
    ).toThrow(badInput('k'));
    expect(() => parseIdentityKey(new Uint8Array(33).fill(9), 'aciIdentityKey')).toThrow(
      badInput('aciIdentityKey'),
    );
  });

  it('refuses key ids outside 0..2^24-1', () => {
    expect(() =>
      verifySignedEcPreKey(identityKey, { ...client.signedPreKey, keyId: 0x1000000 }, 'k'),
    ).toThrow(badInput('k'));
  });
});
