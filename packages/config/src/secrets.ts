import { BASE64_PATTERN } from './formats.ts';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Secrets at rest. Every server secret (token signing keys, sender-certificate keys, zkgroup
 * params, SMS gateway token, database URL, …) may be given *sealed*: `enc:v1:<base64>`, the
 * AES-256-GCM encryption of the value under one 32-byte master key, with the variable's name as
 * associated data so a sealed value cannot be moved to another variable. {@link openSealedEnv}
 * (called by `parseEnv`, so by every process at start) opens them before validation.
 *
 * This lives in `@courier/config` rather than a package of its own: `parseEnv` must open sealed
 * values before zod sees them and report failures as a `ConfigError`, every process already
 * depends on this package, and the code is node:crypto only.
 */

/** Prefix of every sealed value; any value starting with `enc:` is treated as sealed. */
export const SEALED_PREFIX = 'enc:v1:';
const SEALED_MARK = 'enc:';
const MASTER_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The master key variable: standard base64 of 32 random bytes. */
export const MASTER_KEY_VARIABLE = 'COURIER_MASTER_KEY';
/** A file holding the master key (base64 text, surrounding whitespace ignored). */
export const MASTER_KEY_FILE_VARIABLE = 'COURIER_MASTER_KEY_FILE';

/** Why a master key or a sealed value was refused; messages never contain key material. */
export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

/**
 * Where the master key comes from. Implementations: {@link EnvKeyProvider} and
 * {@link FileKeyProvider}.
 *
 * **KMS extension point.** A KMS keeps the master key wrapped (encrypted under a KMS key); the
 * process unwraps it once at start. Implement this interface with an async factory that calls
 * the KMS (for example `await KmsKeyProvider.create({ wrappedKey, keyArn })` doing `Decrypt`)
 * and keeps the unwrapped key in memory, then call {@link useKeyProvider} with it at the top of
 * the entry point, before any configuration is parsed; `parseEnv` then opens sealed values with
 * it instead of reading `COURIER_MASTER_KEY(_FILE)`.
 */
export interface KeyProvider {
  /** Where the key comes from, for messages: a variable or file name, never the key. */
  readonly source: string;
  /**
   * The 32-byte master key.
   *
   * @throws SecretError when it is missing or malformed.
   */
  masterKey(): Uint8Array;
}

/** Decodes a master key from its text form (standard base64 of 32 bytes). */
export function decodeMasterKey(text: string, source: string): Uint8Array {
  const trimmed = text.trim();
  if (!BASE64_PATTERN.test(trimmed) || trimmed.length === 0) {
    throw new SecretError(`${source}: the master key must be standard base64 of 32 bytes`);
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== MASTER_KEY_BYTES) {
    throw new SecretError(
      `${source}: the master key must be 32 bytes (base64), not ${key.length} bytes`,
    );
  }
  return new Uint8Array(key);
}

/** A fresh master key as text (`npm run secrets -w @courier/ops -- generate-master-key`). */
export function generateMasterKey(): string {
  return randomBytes(MASTER_KEY_BYTES).toString('base64');
}

/** The master key given in a variable (`COURIER_MASTER_KEY`). */
export class EnvKeyProvider implements KeyProvider {
  readonly #value: string;

  constructor(
    value: string,
    readonly source: string = MASTER_KEY_VARIABLE,
  ) {
    this.#value = value;
  }

  masterKey(): Uint8Array {
    return decodeMasterKey(this.#value, this.source);
  }
}

/** The master key kept in a file (`COURIER_MASTER_KEY_FILE`, a mounted secret, `.data/master.key`). */
export class FileKeyProvider implements KeyProvider {
  readonly source: string;

  constructor(readonly path: string) {
    this.source = `${MASTER_KEY_FILE_VARIABLE} (${path})`;
  }

  masterKey(): Uint8Array {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new SecretError(`${this.source}: cannot read the master key file (${code})`);
    }
    return decodeMasterKey(text, this.source);
  }
}

let installed: KeyProvider | undefined;

/**
 * Makes `provider` the master key of this process (a KMS provider, see {@link KeyProvider}),
 * taking precedence over `COURIER_MASTER_KEY(_FILE)`; `undefined` removes it again.
 */
export function useKeyProvider(provider: KeyProvider | undefined): void {
  installed = provider;
}

/**
 * The key provider for `env`: the one installed with {@link useKeyProvider}, else
 * `COURIER_MASTER_KEY`, else `COURIER_MASTER_KEY_FILE`; undefined when none is configured.
 *
 * @throws SecretError when both variables are set.
 */
export function keyProviderFromEnv(env: NodeJS.ProcessEnv = process.env): KeyProvider | undefined {
  if (installed) return installed;
  const value = env['COURIER_MASTER_KEY'];
  const file = env['COURIER_MASTER_KEY_FILE'];
  if (value && file) {
    throw new SecretError(
      `${MASTER_KEY_VARIABLE}: set it or ${MASTER_KEY_FILE_VARIABLE}, not both`,
    );
  }
  if (value) return new EnvKeyProvider(value);
  if (file) return new FileKeyProvider(file);
  return undefined;
}

/** True when `value` is in sealed form (starts with `enc:`). */
export function isSealed(value: string | undefined): value is string {
  return value !== undefined && value.startsWith(SEALED_MARK);
}

/**
 * Seals `plaintext` for the variable `name`: `enc:v1:` + base64(nonce ‖ ciphertext ‖ tag),
 * AES-256-GCM with a random 96-bit nonce and `name` as associated data.
 */
export function sealSecret(plaintext: string, masterKey: Uint8Array, name: string): string {
  if (masterKey.length !== MASTER_KEY_BYTES) throw new SecretError('master key must be 32 bytes');
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, nonce);
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${SEALED_PREFIX}${Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]).toString('base64')}`;
}

/**
 * Opens a value sealed by {@link sealSecret} for the variable `name`.
 *
 * @throws SecretError when the value is malformed, or the key or name do not match.
 */
export function openSecret(sealed: string, masterKey: Uint8Array, name: string): string {
  if (!sealed.startsWith(SEALED_PREFIX)) {
    throw new SecretError(`${name}: unsupported sealed value (expected ${SEALED_PREFIX}<base64>)`);
  }
  const body = sealed.slice(SEALED_PREFIX.length).trim();
  const bytes = Buffer.from(body, 'base64');
  if (!BASE64_PATTERN.test(body) || bytes.length < NONCE_BYTES + TAG_BYTES) {
    throw new SecretError(`${name}: malformed sealed value (expected ${SEALED_PREFIX}<base64>)`);
  }
  if (masterKey.length !== MASTER_KEY_BYTES) throw new SecretError('master key must be 32 bytes');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, bytes.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(name, 'utf8'));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new SecretError(
      `${name}: cannot be opened with this master key (wrong key, or sealed for another variable)`,
    );
  }
}

/** Result of {@link openSealedEnv}. */
export interface OpenedEnv {
  /** `env` with every sealed value replaced by its plaintext (`env` itself when none is sealed). */
  readonly env: NodeJS.ProcessEnv;
  /** One line per problem (`NAME: reason`); empty when every sealed value opened. */
  readonly problems: readonly string[];
}

/**
 * Opens every sealed (`enc:`) value of `env` with the master key of {@link keyProviderFromEnv}.
 * Nothing is needed when no value is sealed. Problems name the variables, never their values.
 * `env` is not modified.
 */
export function openSealedEnv(env: NodeJS.ProcessEnv): OpenedEnv {
  const sealed = Object.entries(env).filter((entry): entry is [string, string] =>
    isSealed(entry[1]),
  );
  if (sealed.length === 0) return { env, problems: [] };
  let masterKey: Uint8Array;
  let provider: KeyProvider | undefined;
  try {
    provider = keyProviderFromEnv(env);
    if (!provider) {
      const names = sealed.map(([name]) => name).join(', ');
      return {
        env,
        problems: [
          `${names}: sealed (enc:) values need the master key: set ${MASTER_KEY_VARIABLE} or ${MASTER_KEY_FILE_VARIABLE}`,
        ],
      };
    }
    masterKey = provider.masterKey();
  } catch (error) {
    if (error instanceof SecretError) return { env, problems: [error.message] };
    throw error;
  }
  const opened: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const [name, value] of sealed) {
    try {
      opened[name] = openSecret(value, masterKey, name);
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      problems.push(
        error.message.replace('this master key', `the master key from ${provider.source}`),
      );
    }
  }
  return { env: opened, problems };
}

/**
 * A constant-time check of presented secrets against `expected` (router secret, metrics token):
 * both sides are hashed (SHA-256) so the time does not depend on the presented length, and a
 * missing, empty or non-string value never matches. The expected side is hashed once, here.
 */
export function secretMatcher(expected: string): (presented: unknown) => boolean {
  const wanted = createHash('sha256').update(expected).digest();
  return (presented) =>
    typeof presented === 'string' &&
    presented.length > 0 &&
    timingSafeEqual(wanted, createHash('sha256').update(presented).digest());
}

/** Who may scrape `/metrics` (the gateway's and the subgraphs'). */
export interface MetricsAccess {
  /** The deployment's router secret, accepted in the `x-router-secret` header. */
  readonly routerSecret: string;
  /** Accepted as `Authorization: Bearer <token>` (`METRICS_TOKEN`); unset: only the router secret. */
  readonly metricsToken?: string | undefined;
}

/**
 * The `/metrics` access rule of every process: `Authorization: Bearer <METRICS_TOKEN>` when a
 * token is configured, or the router secret in the `x-router-secret` header. Takes the
 * request's values of those two headers.
 */
export function metricsAccessAllowed(
  access: MetricsAccess,
  authorization: unknown,
  routerSecret: unknown,
): boolean {
  if (
    access.metricsToken &&
    typeof authorization === 'string' &&
    authorization.startsWith('Bearer ') &&
    secretMatcher(access.metricsToken)(authorization.slice('Bearer '.length).trim())
  ) {
    return true;
  }
  return secretMatcher(access.routerSecret)(routerSecret);
}
