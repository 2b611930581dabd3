import { randomBytes } from 'node:crypto';
import { decodeMasterKey, generateMasterKey, sealSecret } from '@courier/config';
import { rotateSenderCertificateKeys } from '@courier/messages';
import {
  expectData,
  postGraphQL,
  registerTestAccount,
  spawnSubgraphProcess,
  startPlatform,
  type Platform,
} from '@courier/testing';
import { PublicKey, SenderCertificate } from '@signalapp/libsignal-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CERTIFICATE = '{ senderCertificate { certificate } }';
/** Every secret a messages process reads, sealed in the tests below. */
const SECRETS = [
  'DATABASE_URL',
  'ROUTER_SECRET',
  'TOKEN_SECRET',
  'TOKEN_SECRETS_PREVIOUS',
  'ZK_SERVER_SECRET_PARAMS',
  'SENDER_CERTIFICATE_TRUST_ROOT',
  'SENDER_CERTIFICATE_SERVER_KEY',
];

/** `env` with every variable of {@link SECRETS} sealed for its own name. */
function sealed(env: Record<string, string>, masterKey: string): Record<string, string> {
  const key = decodeMasterKey(masterKey, 'test');
  const result: Record<string, string> = { ...env, COURIER_MASTER_KEY: masterKey };
  for (const name of SECRETS) {
    if (env[name] !== undefined) result[name] = sealSecret(env[name], key, name);
  }
  return result;
}

describe('sealed secrets and key rotation across processes', () => {
  let platform: Platform;
  const masterKey = generateMasterKey();

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  /**
   * The platform's environment after rotating both keyrings: a new token signing key (the old one
   * kept as previous) and a new sender-certificate server key under the same trust root.
   */
  const rotatedEnv = () => {
    const env = platform.processEnv();
    const sender = rotateSenderCertificateKeys({
      trustRoot: env['SENDER_CERTIFICATE_TRUST_ROOT']!,
      serverKey: env['SENDER_CERTIFICATE_SERVER_KEY']!,
      keyId: Number(env['SENDER_CERTIFICATE_KEY_ID']),
    });
    return {
      ...env,
      TOKEN_SECRET: randomBytes(32).toString('hex'),
      TOKEN_SECRETS_PREVIOUS: env['TOKEN_SECRET']!,
      SENDER_CERTIFICATE_SERVER_KEY: sender.serverKey,
      SENDER_CERTIFICATE_KEY_ID: String(sender.keyId),
    };
  };

  it('a messages process opens enc: secrets at start, accepts tokens of the previous key and issues certificates with the new key id', async () => {
    const alice = await registerTestAccount(platform, '+14155590001');
    const trustRoot = PublicKey.deserialize(
      Buffer.from(
        expectData<{ senderCertificateTrustRoot: string }>(
          await postGraphQL(platform.gatewayUrl, '{ senderCertificateTrustRoot }'),
          'senderCertificateTrustRoot',
        ).senderCertificateTrustRoot,
        'base64',
      ),
    );
    const certificateFrom = async (gatewayUrl: string) =>
      SenderCertificate.deserialize(
        Buffer.from(
          expectData<{ senderCertificate: { certificate: string } }>(
            await postGraphQL(gatewayUrl, CERTIFICATE, { token: alice.token }),
            'senderCertificate',
          ).senderCertificate.certificate,
          'base64',
        ),
      );
    const before = await certificateFrom(platform.gatewayUrl);

    const child = await spawnSubgraphProcess('messages', sealed(rotatedEnv(), masterKey));
    try {
      const gateway = await platform.startGateway(child.url);
      // Alice's token was signed with the key that is now the previous one.
      const after = await certificateFrom(gateway.url);
      expect(before.serverCertificate().keyId()).toBe(1);
      expect(after.serverCertificate().keyId()).toBe(2);
      expect(before.validate(trustRoot, Date.now())).toBe(true);
      expect(after.validate(trustRoot, Date.now())).toBe(true);
    } finally {
      await child.stop();
    }
  });

  it('refuses to start with the wrong master key, or a sealed value moved to another variable', async () => {
    const env = rotatedEnv();
    const wrongKey = { ...sealed(env, masterKey), COURIER_MASTER_KEY: generateMasterKey() };
    const failure = await spawnSubgraphProcess('messages', wrongKey).then(
      async (child) => {
        await child.stop();
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/exited \(78\)/);
    expect(failure).toMatch(
      /TOKEN_SECRET: cannot be opened with the master key from COURIER_MASTER_KEY/,
    );
    for (const name of SECRETS) expect(failure).not.toContain(env[name as keyof typeof env]);

    const moved = sealed(env, masterKey);
    moved['TOKEN_SECRET'] = moved['ROUTER_SECRET']!;
    const refused = await spawnSubgraphProcess('messages', moved).then(
      async (child) => {
        await child.stop();
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/exited \(78\)/);
    expect(refused).toMatch(/TOKEN_SECRET: cannot be opened .*sealed for another variable/);
  });
});
