import { ConfigError } from '@courier/config';
import { PublicKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import {
  generateSenderCertificateKeys,
  loadSenderCertificateKeys,
} from './sender-certificate-keys.ts';

describe('sender-certificate keys', () => {
  it('loads configured keys; the server certificate chains to the trust root', () => {
    const text = generateSenderCertificateKeys();
    const keys = loadSenderCertificateKeys({
      production: true,
      env: {
        SENDER_CERTIFICATE_TRUST_ROOT: text.trustRoot,
        SENDER_CERTIFICATE_SERVER_KEY: text.serverKey,
        SENDER_CERTIFICATE_KEY_ID: '7',
      },
    });
    expect(keys.keyId).toBe(7);
    expect(keys.serverCertificate.keyId()).toBe(7);
    const root = PublicKey.deserialize(keys.trustRoot.getPublicKey().serialize());
    expect(
      root.verify(keys.serverCertificate.certificateData(), keys.serverCertificate.signature()),
    ).toBe(true);
  });

  it('requires the keys in production, generates them elsewhere, rejects bad values', () => {
    expect(() => loadSenderCertificateKeys({ production: true, env: {} })).toThrow(ConfigError);
    expect(loadSenderCertificateKeys({ production: false, env: {} }).keyId).toBe(1);
    const text = generateSenderCertificateKeys();
    expect(() =>
      loadSenderCertificateKeys({
        production: false,
        env: { SENDER_CERTIFICATE_TRUST_ROOT: text.trustRoot },
      }),
    ).toThrow(ConfigError);
    expect(() =>
      loadSenderCertificateKeys({
        production: false,
        env: {
          SENDER_CERTIFICATE_TRUST_ROOT: 'not base64!',
          SENDER_CERTIFICATE_SERVER_KEY: 'AAAA',
        },
      }),
    ).toThrow(ConfigError);
  });
});
