import { IdentityKeyPair, KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';

/** A signed public prekey as clients upload it. */
export interface SignedPublicPreKey {
  readonly keyId: number;
  readonly publicKey: Uint8Array<ArrayBuffer>;
  readonly signature: Uint8Array<ArrayBuffer>;
}

/** One identity (ACI or PNI) of a test device, with real libsignal key material. */
export interface TestIdentity {
  readonly identityKeyPair: IdentityKeyPair;
  /** Serialized public identity key (33 bytes). */
  readonly identityKey: Uint8Array<ArrayBuffer>;
  readonly registrationId: number;
  readonly signedPreKey: SignedPublicPreKey & { readonly privateKey: PrivateKey };
  readonly lastResortKyberPreKey: SignedPublicPreKey & { readonly keyPair: KEMKeyPair };
}

/** Registration ids are 14 bits, never 0 (Signal's rule). */
function randomRegistrationId(): number {
  return 1 + Math.floor(Math.random() * 0x3ffe);
}

/**
 * Generates an identity the way a Signal client does: identity key pair, a signed EC prekey
 * and a signed last-resort Kyber prekey, each signature made with the identity key.
 */
export function generateTestIdentity(keyIds = { signed: 1, kyber: 1 }): TestIdentity {
  const identityKeyPair = IdentityKeyPair.generate();
  const signedPrivate = PrivateKey.generate();
  const signedPublic = signedPrivate.getPublicKey().serialize();
  const kyber = KEMKeyPair.generate();
  const kyberPublic = kyber.getPublicKey().serialize();
  return {
    identityKeyPair,
    identityKey: identityKeyPair.publicKey.serialize(),
    registrationId: randomRegistrationId(),
    signedPreKey: {
      keyId: keyIds.signed,
      publicKey: signedPublic,
      signature: identityKeyPair.privateKey.sign(signedPublic),
      privateKey: signedPrivate,
    },
    lastResortKyberPreKey: {
      keyId: keyIds.kyber,
      publicKey: kyberPublic,
      signature: identityKeyPair.privateKey.sign(kyberPublic),
      keyPair: kyber,
    },
  };
}
