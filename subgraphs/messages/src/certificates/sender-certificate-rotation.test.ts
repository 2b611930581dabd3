import { decodeMasterKey, generateMasterKey, sealSecret } from '@courier/config';
import { IdentityKeyPair, SenderCertificate } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { CertificateService } from '../services/certificate-service.ts';
import {
  generateSenderCertificateKeys,
  loadSenderCertificateKeys,
  rotateSenderCertificateKeys,
  senderCertificateKeysFrom,
  type SenderCertificateKeyText,
} from './sender-certificate-keys.ts';

const ACI = '5a1f3d6e-0d8b-4c3e-9a51-2f0e7c1b9d42';
const identity = IdentityKeyPair.generate().publicKey.serialize();

/** The certificate service with the keys of `text`, the identity key looked up in memory. */
function issuerWith(text: SenderCertificateKeyText, now: () => number) {
  return new CertificateService({
    keys: senderCertificateKeysFrom(text),
    identityKeys: { identityKeyOf: async () => identity },
    accounts: { findTarget: async () => null },
    now,
  });
}

describe('sender-certificate server key rotation', () => {
  it('keeps certificates issued before valid; new ones carry the new key id', async () => {
    let now = Date.now();
    const before = generateSenderCertificateKeys();
    const after = rotateSenderCertificateKeys(before);
    expect(after.trustRoot).toBe(before.trustRoot);
    expect(after.serverKey).not.toBe(before.serverKey);
    expect(after.keyId).toBe(before.keyId + 1);

    const device = { aci: ACI, deviceId: 1, credentialId: ACI, expiresAt: now + 60_000 };
    const old = SenderCertificate.deserialize(
      (await issuerWith(before, () => now).issue(device, false))
        .certificate as Uint8Array<ArrayBuffer>,
    );
    now += 60 * 60 * 1000;
    const fresh = SenderCertificate.deserialize(
      (await issuerWith(after, () => now).issue(device, false))
        .certificate as Uint8Array<ArrayBuffer>,
    );
    const trustRoot = senderCertificateKeysFrom(after).trustRoot.getPublicKey();
    expect(old.validate(trustRoot, now)).toBe(true);
    expect(fresh.validate(trustRoot, now)).toBe(true);
    expect(old.serverCertificate().keyId()).toBe(before.keyId);
    expect(fresh.serverCertificate().keyId()).toBe(after.keyId);
    // The old certificate still expires on its own schedule.
    expect(old.validate(trustRoot, old.expiration() + 1)).toBe(false);
  });

  it('skips the key id libsignal treats as revoked', () => {
    const text = { ...generateSenderCertificateKeys(), keyId: 0xdeadc356 };
    expect(rotateSenderCertificateKeys(text).keyId).toBe(0xdeadc358);
    expect(rotateSenderCertificateKeys({ ...text, keyId: 0xffffffff }).keyId).toBe(0);
  });

  it('loads the rotated keys sealed (enc:) from the environment', () => {
    const master = generateMasterKey();
    const key = decodeMasterKey(master, 'test');
    const text = rotateSenderCertificateKeys(generateSenderCertificateKeys());
    const keys = loadSenderCertificateKeys({
      production: true,
      env: {
        COURIER_MASTER_KEY: master,
        SENDER_CERTIFICATE_TRUST_ROOT: sealSecret(
          text.trustRoot,
          key,
          'SENDER_CERTIFICATE_TRUST_ROOT',
        ),
        SENDER_CERTIFICATE_SERVER_KEY: sealSecret(
          text.serverKey,
          key,
          'SENDER_CERTIFICATE_SERVER_KEY',
        ),
        SENDER_CERTIFICATE_KEY_ID: String(text.keyId),
      },
    });
    expect(keys.serverCertificate.keyId()).toBe(2);
    expect(Buffer.from(keys.serverKey.serialize()).toString('base64')).toBe(text.serverKey);
  });
});
