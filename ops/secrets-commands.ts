import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  MASTER_KEY_FILE_VARIABLE,
  MASTER_KEY_VARIABLE,
  authEnv,
  generateMasterKey,
  isSealed,
  keyProviderFromEnv,
  parseEnv,
  sealSecret,
} from '@courier/config';
import { rotateSenderCertificateKeys, senderCertificateKeyTextFromEnv } from '@courier/messages';
import { EmbeddedSecretsFile, generateHexSecret, type SecretValues } from './embedded/secrets.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** What a rotation replaces. */
export type RotationTarget = 'token' | 'sender-certificate';

/**
 * The next token keyring: a fresh current key (`TOKEN_SECRET`), the old current key first in
 * `TOKEN_SECRETS_PREVIOUS` before the earlier ones, so tokens already issued keep verifying.
 */
export function rotateTokenKeyring(values: SecretValues): SecretValues {
  const current = values['TOKEN_SECRET'];
  if (!current) throw new ConfigError('No token keyring', ['TOKEN_SECRET: not set']);
  if (current.includes(',')) {
    throw new ConfigError('Token key cannot be kept', [
      'TOKEN_SECRET: contains a comma, so it cannot move into TOKEN_SECRETS_PREVIOUS',
    ]);
  }
  const previous = (values['TOKEN_SECRETS_PREVIOUS'] ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
  return {
    TOKEN_SECRET: generateHexSecret(),
    TOKEN_SECRETS_PREVIOUS: [...new Set([current, ...previous])].join(','),
  };
}

/**
 * The next sender-certificate keys: the same trust root, a fresh server key, the next key id
 * (see `rotateSenderCertificateKeys`).
 */
export function rotateSenderCertificateKeyring(values: SecretValues): SecretValues {
  const current = senderCertificateKeyTextFromEnv(values);
  if (!current) {
    throw new ConfigError('No sender-certificate keys', [
      'SENDER_CERTIFICATE_TRUST_ROOT, SENDER_CERTIFICATE_SERVER_KEY: not set',
    ]);
  }
  const next = rotateSenderCertificateKeys(current);
  return {
    SENDER_CERTIFICATE_TRUST_ROOT: next.trustRoot,
    SENDER_CERTIFICATE_SERVER_KEY: next.serverKey,
    SENDER_CERTIFICATE_KEY_ID: String(next.keyId),
  };
}

/** The variables a rotation changes, from the current ones. */
export function rotateKeyring(target: RotationTarget, values: SecretValues): SecretValues {
  return target === 'token' ? rotateTokenKeyring(values) : rotateSenderCertificateKeyring(values);
}

/**
 * The lines of an env file with every value sealed for its variable: comments, blank lines,
 * empty and already sealed values are kept as they are.
 */
export function sealEnvFile(text: string, masterKey: Uint8Array): string[] {
  return text
    .split(/\r?\n/)
    .filter((line, index, lines) => line !== '' || index < lines.length - 1)
    .map((line) => {
      const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (!match || match[2] === '' || isSealed(match[2])) return line;
      return `${match[1]}=${sealSecret(match[2]!, masterKey, match[1]!)}`;
    });
}

/** Input and output of {@link runSecretsCommand} (the process's, or a test's). */
export interface SecretsCommandIo {
  readonly env: NodeJS.ProcessEnv;
  readStdin(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `usage: npm run -s secrets -w @courier/ops -- <command>
  (no command) | generate        fresh values of every secret (env file on stdout)
  generate-master-key            a fresh master key (base64 of 32 bytes) for ${MASTER_KEY_VARIABLE}
  seal NAME                      seals the value read from stdin for variable NAME: enc:v1:…
  seal-env                       reads an env file (NAME=value lines) on stdin, prints it sealed
  rotate token|sender-certificate [--data-dir DIR | --embedded]
                                 the next keyring; env mode prints the changed variables (sealed
                                 when a master key is configured), --data-dir rewrites secrets.json
  retire token [--data-dir DIR | --embedded]
                                 drops TOKEN_SECRETS_PREVIOUS (once tokens they signed expired)`;

/** Reads all of the process's stdin. */
export async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The master key configured in `env`, or undefined. */
function configuredMasterKey(env: NodeJS.ProcessEnv): Uint8Array | undefined {
  return keyProviderFromEnv(env)?.masterKey();
}

/**
 * Runs one `npm run secrets` command (other than `generate`, which `ops/secrets.ts` runs);
 * returns the exit status. Secret values go to `out` only as the command's result, never to `err`.
 */
export async function runSecretsCommand(
  args: readonly string[],
  io: SecretsCommandIo,
): Promise<number> {
  const { positionals, values } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, embedded: { type: 'boolean' } },
  });
  const [command, target] = positionals;
  try {
    switch (command) {
      case 'generate-master-key':
        io.out(generateMasterKey());
        return 0;
      case 'seal': {
        if (!target || !/^[A-Z][A-Z0-9_]*$/.test(target)) {
          io.err('seal NAME: NAME is the variable the value is for (AAD), e.g. TOKEN_SECRET');
          return 64;
        }
        const key = configuredMasterKey(io.env);
        if (!key) {
          io.err(`seal: set ${MASTER_KEY_VARIABLE} or ${MASTER_KEY_FILE_VARIABLE}`);
          return 78;
        }
        const value = (await io.readStdin()).replace(/\r?\n$/, '');
        if (value.length === 0) {
          io.err('seal: no value on stdin');
          return 64;
        }
        io.out(sealSecret(value, key, target));
        return 0;
      }
      case 'seal-env': {
        const key = configuredMasterKey(io.env);
        if (!key) {
          io.err(`seal-env: set ${MASTER_KEY_VARIABLE} or ${MASTER_KEY_FILE_VARIABLE}`);
          return 78;
        }
        for (const line of sealEnvFile(await io.readStdin(), key)) io.out(line);
        return 0;
      }
      case 'rotate':
      case 'retire': {
        const valid = command === 'rotate' ? ['token', 'sender-certificate'] : ['token'];
        if (!target || !valid.includes(target)) {
          io.err(USAGE);
          return 64;
        }
        const dataDir =
          values['data-dir'] !== undefined
            ? resolve(io.env['INIT_CWD'] ?? process.cwd(), values['data-dir'])
            : values.embedded
              ? (io.env['COURIER_DATA_DIR'] ?? `${ROOT}.data`)
              : undefined;
        const next = (current: SecretValues): SecretValues =>
          command === 'retire'
            ? { TOKEN_SECRETS_PREVIOUS: '' }
            : rotateKeyring(target as RotationTarget, current);
        return dataDir
          ? await rotateFile(dataDir, next, io)
          : rotateEnvironment(target as RotationTarget, next, io);
      }
      default:
        io.err(USAGE);
        return 64;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 78;
    }
    throw error;
  }
}

/** Env mode: the current keyring from the environment (sealed values opened), the next printed. */
function rotateEnvironment(
  target: RotationTarget,
  next: (current: SecretValues) => SecretValues,
  io: SecretsCommandIo,
): number {
  const current: SecretValues = {};
  if (target === 'token') {
    const env = parseEnv(authEnv, io.env);
    current['TOKEN_SECRET'] = env.TOKEN_SECRET;
    current['TOKEN_SECRETS_PREVIOUS'] = env.TOKEN_SECRETS_PREVIOUS.join(',');
  } else {
    const text = senderCertificateKeyTextFromEnv(io.env);
    if (text) {
      current['SENDER_CERTIFICATE_TRUST_ROOT'] = text.trustRoot;
      current['SENDER_CERTIFICATE_SERVER_KEY'] = text.serverKey;
      current['SENDER_CERTIFICATE_KEY_ID'] = String(text.keyId);
    }
  }
  const key = configuredMasterKey(io.env);
  if (!key) io.err(`${MASTER_KEY_VARIABLE} unset: printing the new values in plaintext`);
  for (const [name, value] of Object.entries(next(current))) {
    io.out(`${name}=${key && value ? sealSecret(value, key, name) : value}`);
  }
  io.err(
    target === 'token'
      ? 'Deploy these everywhere; once every instance runs them and ACCESS_TOKEN_TTL_SECONDS has passed, retire the previous keys (retire token).'
      : 'Deploy these to every messages instance; certificates issued before stay valid until they expire.',
  );
  return 0;
}

/** Embedded mode: reads `.data/secrets.json`, applies `next`, writes it back sealed. */
async function rotateFile(
  dataDir: string,
  next: (current: SecretValues) => SecretValues,
  io: SecretsCommandIo,
): Promise<number> {
  const file = new EmbeddedSecretsFile(dataDir, io.env);
  if (!existsSync(file.file)) {
    io.err(`${file.file} does not exist: start embedded mode once (npm start) first`);
    return 66;
  }
  const masterKey = await file.masterKey();
  const { values } = await file.read(masterKey);
  const changed = next(values);
  const updated = { ...values, ...changed };
  if (updated['TOKEN_SECRETS_PREVIOUS'] === '') delete updated['TOKEN_SECRETS_PREVIOUS'];
  await file.write(updated, masterKey);
  io.err(`${file.file}: ${Object.keys(changed).join(', ')} updated; restart to apply`);
  return 0;
}
