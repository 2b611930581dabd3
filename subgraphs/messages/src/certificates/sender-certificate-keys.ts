import { BASE64_PATTERN } from '@courier/config';
import { ConfigError, parseEnv, z } from '@courier/config';
import type { Logger } from '@courier/logging';
import { PrivateKey, ServerCertificate } from '@signalapp/libsignal-client';

/** The keys sealed-sender certificates are issued with. */
export interface SenderCertificateKeys {
  /** The trust root: clients validate sender certificates against its public key. */
  readonly trustRoot: PrivateKey;
  /** The server key that signs sender certificates (its certificate is signed by the trust root). */
  readonly serverKey: PrivateKey;
  /** The server certificate's key id. */
  readonly keyId: number;
  /** `ServerCertificate` for `serverKey`, signed by `trustRoot`. */
  readonly serverCertificate: ServerCertificate;
}

/** Sender-certificate key material as text (the environment's and the secrets file's form). */
export interface SenderCertificateKeyText {
  /** Base64 of the serialized trust root private key. */
  readonly trustRoot: string;
  /** Base64 of the serialized server private key. */
  readonly serverKey: string;
  readonly keyId: number;
}

/**
 * Parses one base64 serialized Curve25519 private key.
 *
 * @throws RangeError when the text is not base64 or not a private key.
 */
function parsePrivateKey(base64: string, what: string): PrivateKey {
  const text = base64.trim();
  if (text.length === 0 || !BASE64_PATTERN.test(text))
    throw new RangeError(`${what} must be base64`);
  try {
    return PrivateKey.deserialize(new Uint8Array(Buffer.from(text, 'base64')));
  } catch (error) {
    throw new RangeError(`${what} is not a serialized private key`, { cause: error });
  }
}

/** Builds the keys (and the server certificate) from their text form. */
export function senderCertificateKeysFrom(text: SenderCertificateKeyText): SenderCertificateKeys {
  const trustRoot = parsePrivateKey(text.trustRoot, 'SENDER_CERTIFICATE_TRUST_ROOT');
  const serverKey = parsePrivateKey(text.serverKey, 'SENDER_CERTIFICATE_SERVER_KEY');
  return {
    trustRoot,
    serverKey,
    keyId: text.keyId,
    serverCertificate: ServerCertificate.new(text.keyId, serverKey.getPublicKey(), trustRoot),
  };
}

/**
 * Generates a fresh trust root and server key (key id 1) as text. Generate once per deployment and
 * keep them: clients pin the trust root's public key (`Query.senderCertificateTrustRoot`).
 */
export function generateSenderCertificateKeys(): SenderCertificateKeyText {
  const text = (key: PrivateKey) => Buffer.from(key.serialize()).toString('base64');
  return {
    trustRoot: text(PrivateKey.generate()),
    serverKey: text(PrivateKey.generate()),
    keyId: 1,
  };
}

/**
 * Server certificate key ids libsignal refuses (`REVOKED_SERVER_CERTIFICATE_KEY_IDS` in its
 * sealed_sender.rs: 0xDEADC357 tests the revocation logic); rotation skips them.
 */
const REVOKED_KEY_IDS: ReadonlySet<number> = new Set([0xdeadc357]);

/**
 * The keys after a rotation of the server key: the same trust root, a fresh server key and the
 * next key id. Certificates issued before stay valid until they expire (recipients validate them
 * against the trust root, which does not change); new ones carry the new key id.
 */
export function rotateSenderCertificateKeys(
  current: SenderCertificateKeyText,
): SenderCertificateKeyText {
  let keyId = (current.keyId + 1) % 0x1_0000_0000;
  while (REVOKED_KEY_IDS.has(keyId)) keyId = (keyId + 1) % 0x1_0000_0000;
  return {
    trustRoot: current.trustRoot,
    serverKey: Buffer.from(PrivateKey.generate().serialize()).toString('base64'),
    keyId,
  };
}

/**
 * Environment of the sender-certificate keys: `SENDER_CERTIFICATE_TRUST_ROOT` and
 * `SENDER_CERTIFICATE_SERVER_KEY` (base64 serialized private keys; both or neither) and
 * `SENDER_CERTIFICATE_KEY_ID` (the server certificate's id, default 1). Every messages instance
 * must get the same values.
 */
export const senderCertificateEnv = z
  .object({
    SENDER_CERTIFICATE_TRUST_ROOT: z.string().trim().min(1).optional(),
    SENDER_CERTIFICATE_SERVER_KEY: z.string().trim().min(1).optional(),
    SENDER_CERTIFICATE_KEY_ID: z.coerce.number().int().min(0).max(0xffffffff).default(1),
  })
  .superRefine((env, context) => {
    const set = [env.SENDER_CERTIFICATE_TRUST_ROOT, env.SENDER_CERTIFICATE_SERVER_KEY];
    if (set.filter((value) => value !== undefined).length === 1) {
      context.addIssue({
        code: 'custom',
        message: 'SENDER_CERTIFICATE_TRUST_ROOT and SENDER_CERTIFICATE_SERVER_KEY go together',
      });
      return;
    }
    for (const [name, value] of [
      ['SENDER_CERTIFICATE_TRUST_ROOT', env.SENDER_CERTIFICATE_TRUST_ROOT],
      ['SENDER_CERTIFICATE_SERVER_KEY', env.SENDER_CERTIFICATE_SERVER_KEY],
    ] as const) {
      if (value === undefined) continue;
      try {
        parsePrivateKey(value, name);
      } catch (error) {
        context.addIssue({ code: 'custom', path: [name], message: (error as Error).message });
      }
    }
  });

/** The configured keys as text, or undefined when the environment sets none. */
export function senderCertificateKeyTextFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): SenderCertificateKeyText | undefined {
  const parsed = parseEnv(senderCertificateEnv, env);
  if (!parsed.SENDER_CERTIFICATE_TRUST_ROOT || !parsed.SENDER_CERTIFICATE_SERVER_KEY) {
    return undefined;
  }
  return {
    trustRoot: parsed.SENDER_CERTIFICATE_TRUST_ROOT,
    serverKey: parsed.SENDER_CERTIFICATE_SERVER_KEY,
    keyId: parsed.SENDER_CERTIFICATE_KEY_ID,
  };
}

/** Options of {@link loadSenderCertificateKeys}. */
export interface LoadSenderCertificateKeysOptions {
  /** In production the keys must be configured; elsewhere missing keys are generated. */
  readonly production: boolean;
  /** Told (without the keys) when ephemeral keys are generated. */
  readonly logger?: Logger;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The sender-certificate keys of this process, as `loadZkServerSecretParams` does for zkgroup:
 * from the environment when set; unset in production is a configuration error; unset elsewhere
 * fresh keys are generated for this process only (with a warning). The embedded mode generates
 * them once and keeps them in `.data/secrets.json`.
 *
 * @throws ConfigError when the variables are invalid, or unset in production.
 */
export function loadSenderCertificateKeys(
  options: LoadSenderCertificateKeysOptions,
): SenderCertificateKeys {
  const configured = senderCertificateKeyTextFromEnv(options.env ?? process.env);
  if (configured) return senderCertificateKeysFrom(configured);
  if (options.production) {
    const problem =
      'SENDER_CERTIFICATE_TRUST_ROOT, SENDER_CERTIFICATE_SERVER_KEY: required in production';
    throw new ConfigError(`Invalid configuration:\n  ${problem}`, [problem]);
  }
  options.logger?.warn(
    'SENDER_CERTIFICATE_TRUST_ROOT unset: generated sender-certificate keys for this process only',
  );
  return senderCertificateKeysFrom(generateSenderCertificateKeys());
}
