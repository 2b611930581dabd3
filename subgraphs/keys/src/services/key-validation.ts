import { BadUserInputError } from '@courier/errors';
import { KEMPublicKey, PublicKey } from '@signalapp/libsignal-client';

/** Sizes of serialized keys (type byte included) and signatures, as libsignal writes them. */
export const KEY_SIZES = { ecPublicKey: 33, kyberPublicKey: 1569, signature: 64 } as const;

/** Largest prekey id clients use (24 bits, as Signal's). */
export const MAX_KEY_ID = 0xffffff;

/** A public prekey with its signature by the identity key. */
export interface SignedPreKeyBytes {
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
}

function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** Parses a serialized EC identity key; refuses anything libsignal cannot read. */
export function parseIdentityKey(bytes: Uint8Array, field: string): PublicKey {
  if (bytes.length !== KEY_SIZES.ecPublicKey) {
    throw new BadUserInputError(`${field} must be ${KEY_SIZES.ecPublicKey} bytes`, field);
  }
  try {
    return PublicKey.deserialize(copy(bytes));
  } catch {
    throw new BadUserInputError(`${field} is not a valid public key`, field);
  }
}

function checkKeyId(keyId: number, field: string): void {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > MAX_KEY_ID) {
    throw new BadUserInputError(`${field}.keyId must be between 0 and ${MAX_KEY_ID}`, field);
  }
}

function checkSignature(identityKey: PublicKey, key: SignedPreKeyBytes, field: string): void {
  if (key.signature.length !== KEY_SIZES.signature) {
    throw new BadUserInputError(`${field}.signature must be ${KEY_SIZES.signature} bytes`, field);
  }
  if (!identityKey.verify(copy(key.publicKey), copy(key.signature))) {
    throw new BadUserInputError(`${field} is not signed by the identity key`, field);
  }
}

/** A one-time EC prekey: a public key with an id and no signature. */
export interface PreKeyBytes {
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

/** Verifies an unsigned one-time EC prekey: an id in range and a key libsignal can read. */
export function verifyEcPreKey(key: PreKeyBytes, field: string): void {
  checkKeyId(key.keyId, field);
  checkEcPublicKey(key.publicKey, field);
}

function checkEcPublicKey(publicKey: Uint8Array, field: string): void {
  if (publicKey.length !== KEY_SIZES.ecPublicKey) {
    throw new BadUserInputError(`${field}.publicKey must be ${KEY_SIZES.ecPublicKey} bytes`, field);
  }
  try {
    PublicKey.deserialize(copy(publicKey));
  } catch {
    throw new BadUserInputError(`${field}.publicKey is not a valid EC public key`, field);
  }
}

/** Verifies a signed EC prekey: a valid key, signed by `identityKey`. */
export function verifySignedEcPreKey(
  identityKey: PublicKey,
  key: SignedPreKeyBytes,
  field: string,
): void {
  checkKeyId(key.keyId, field);
  checkEcPublicKey(key.publicKey, field);
  checkSignature(identityKey, key, field);
}

/**
 * Verifies a signed Kyber prekey. `KEMPublicKey.deserialize` checks little beyond the type
 * byte and length, so the identity signature is what proves the key is the client's.
 */
export function verifySignedKyberPreKey(
  identityKey: PublicKey,
  key: SignedPreKeyBytes,
  field: string,
): void {
  checkKeyId(key.keyId, field);
  if (key.publicKey.length !== KEY_SIZES.kyberPublicKey) {
    throw new BadUserInputError(
      `${field}.publicKey must be ${KEY_SIZES.kyberPublicKey} bytes`,
      field,
    );
  }
  try {
    KEMPublicKey.deserialize(copy(key.publicKey));
  } catch {
    throw new BadUserInputError(`${field}.publicKey is not a valid Kyber public key`, field);
  }
  checkSignature(identityKey, key, field);
}
