import { parseZkServerSecretParams } from '@courier/server';
import { PrivateKey } from '@signalapp/libsignal-client';
import { generateHexSecret, withGeneratedSecrets, type SecretValues } from './embedded/secrets.ts';
import { readProcessStdin, runSecretsCommand } from './secrets-commands.ts';

/**
 * `npm run -s secrets -w @courier/ops`: prints fresh values of every secret a deployment needs
 * (the ones embedded mode generates into `.data/secrets.json`) as an env file on stdout, ready
 * for `kubectl create secret generic courier-secrets --from-env-file=…` once DATABASE_URL,
 * REDIS_URL and VERIFICATION_HTTP_TOKEN are added. The public halves clients need (zkgroup
 * public params, the sender-certificate trust root) go to stderr.
 *
 * Generate once per deployment and keep them: a new TOKEN_SECRET signs everyone out (unless the
 * old one moves to TOKEN_SECRETS_PREVIOUS), new
 * ZK_SERVER_SECRET_PARAMS invalidate every zkgroup credential and group send endorsement, a new
 * trust root makes clients reject sender certificates.
 */
function main(): void {
  const values: SecretValues = {
    ...withGeneratedSecrets({}),
    ATTACHMENTS_UPLOAD_SECRET: generateHexSecret(),
  };
  for (const [name, value] of Object.entries(values)) console.log(`${name}=${value}`);
  const publicParams = Buffer.from(
    parseZkServerSecretParams(values['ZK_SERVER_SECRET_PARAMS']!).getPublicParams().serialize(),
  );
  const trustRoot = PrivateKey.deserialize(
    Buffer.from(values['SENDER_CERTIFICATE_TRUST_ROOT']!, 'base64'),
  )
    .getPublicKey()
    .serialize();
  console.error(
    [
      'Public values for clients (also served by the API):',
      `  zkgroup server public params (Query.zkServerPublicParams): ${publicParams.toString('base64')}`,
      `  sender-certificate trust root public key (Query.senderCertificateTrustRoot): ${Buffer.from(trustRoot).toString('base64')}`,
    ].join('\n'),
  );
}

const [command] = process.argv.slice(2);
if (command === undefined || command === 'generate') {
  main();
} else {
  process.exitCode = await runSecretsCommand(process.argv.slice(2), {
    env: process.env,
    readStdin: readProcessStdin,
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
}
