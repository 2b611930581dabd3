import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConfigError,
  FileKeyProvider,
  authEnv,
  parseEnv,
  routerSecretEnv,
  MASTER_KEY_FILE_VARIABLE,
  MASTER_KEY_VARIABLE,
  SecretError,
  generateMasterKey,
  isSealed,
  keyProviderFromEnv,
  openSecret,
  sealSecret,
  type KeyProvider,
} from '@courier/config';
import {
  generateSenderCertificateKeys,
  loadSenderCertificateKeys,
  type SenderCertificateKeys,
} from '@courier/messages';
import { generateZkServerSecretParams, loadZkServerSecretParams } from '@courier/server';
import type { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';

/**
 * Embedded mode's secrets file, `.data/secrets.json`: the deployment's secrets under the names of
 * the variables they stand for, every value sealed (`enc:v1:…`, the same form as sealed
 * environment values) with the master key in `.data/master.key` (0600), or with
 * `COURIER_MASTER_KEY` / `COURIER_MASTER_KEY_FILE` when set. Both files sit in the data directory,
 * so sealing protects copies and backups of `secrets.json` taken without the key, not a
 * compromised disk; keep the master key elsewhere (the variables) for that.
 */
export const SECRETS_FILE = 'secrets.json';
/** The master key file embedded mode creates when no master key variable is set. */
export const MASTER_KEY_FILE = 'master.key';
const FORMAT = 'courier-secrets/v2';

/**
 * Variables kept in the secrets file, grouped: a group is taken from the environment as a whole
 * when its first variable is set there (so a token keyring or sender-certificate key set is never
 * half from the file and half from the environment).
 */
export const SECRET_GROUPS = [
  ['ROUTER_SECRET'],
  ['TOKEN_SECRET', 'TOKEN_SECRETS_PREVIOUS'],
  ['ZK_SERVER_SECRET_PARAMS'],
  ['SENDER_CERTIFICATE_TRUST_ROOT', 'SENDER_CERTIFICATE_SERVER_KEY', 'SENDER_CERTIFICATE_KEY_ID'],
] as const;

/** Plaintext secrets by variable name. */
export type SecretValues = Record<string, string>;

/** A fresh shared secret: 32 random bytes, hex (router, token and upload secrets). */
export function generateHexSecret(): string {
  return randomBytes(32).toString('hex');
}

/** Fresh values for every variable of {@link SECRET_GROUPS} that `values` lacks. */
export function withGeneratedSecrets(values: SecretValues): SecretValues {
  const next = { ...values };
  next['ROUTER_SECRET'] ??= generateHexSecret();
  next['TOKEN_SECRET'] ??= generateHexSecret();
  next['ZK_SERVER_SECRET_PARAMS'] ??= generateZkServerSecretParams();
  if (!next['SENDER_CERTIFICATE_TRUST_ROOT'] || !next['SENDER_CERTIFICATE_SERVER_KEY']) {
    const keys = generateSenderCertificateKeys();
    next['SENDER_CERTIFICATE_TRUST_ROOT'] = keys.trustRoot;
    next['SENDER_CERTIFICATE_SERVER_KEY'] = keys.serverKey;
    next['SENDER_CERTIFICATE_KEY_ID'] = String(keys.keyId);
  }
  next['SENDER_CERTIFICATE_KEY_ID'] ??= '1';
  return next;
}

/** The first file format (plaintext, camelCase keys) as variables. */
function fromLegacy(legacy: Record<string, unknown>): SecretValues {
  const values: SecretValues = {};
  const text = (key: string) => (typeof legacy[key] === 'string' ? legacy[key] : undefined);
  const set = (name: string, value: string | undefined) => {
    if (value) values[name] = value;
  };
  set('ROUTER_SECRET', text('routerSecret'));
  set('TOKEN_SECRET', text('tokenSecret'));
  set('ZK_SERVER_SECRET_PARAMS', text('zkServerSecretParams'));
  const sender = legacy['senderCertificateKeys'] as
    { trustRoot?: unknown; serverKey?: unknown; keyId?: unknown } | undefined;
  if (sender && typeof sender.trustRoot === 'string' && typeof sender.serverKey === 'string') {
    set('SENDER_CERTIFICATE_TRUST_ROOT', sender.trustRoot);
    set('SENDER_CERTIFICATE_SERVER_KEY', sender.serverKey);
    set('SENDER_CERTIFICATE_KEY_ID', String(sender.keyId ?? 1));
  }
  return values;
}

/** A problem with the secrets file, as a configuration error (values never included). */
function fileError(file: string, reason: string): ConfigError {
  const problem = `${file}: ${reason}`;
  return new ConfigError(`Invalid configuration:\n  ${problem}`, [problem]);
}

/** The secrets file of a data directory, read and written sealed. */
export class EmbeddedSecretsFile {
  readonly file: string;
  readonly masterKeyFile: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(
    readonly dataDir: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.file = join(dataDir, SECRETS_FILE);
    this.masterKeyFile = join(dataDir, MASTER_KEY_FILE);
    this.#env = env;
  }

  /**
   * The master key provider: `COURIER_MASTER_KEY(_FILE)` when set, else `.data/master.key`,
   * created (0600) when absent — unless the secrets file already holds sealed values, which a new
   * key could not open.
   *
   * @throws ConfigError when the key is missing or malformed.
   */
  async keyProvider(): Promise<KeyProvider> {
    try {
      const configured = keyProviderFromEnv(this.#env);
      if (configured) return configured;
    } catch (error) {
      if (error instanceof SecretError) throw fileError(MASTER_KEY_VARIABLE, error.message);
      throw error;
    }
    if (!existsSync(this.masterKeyFile)) {
      const raw = existsSync(this.file) ? await readFile(this.file, 'utf8') : '';
      if (raw.includes('enc:')) {
        throw fileError(
          this.file,
          `holds sealed values but ${this.masterKeyFile} is missing: restore it, or set ${MASTER_KEY_VARIABLE} / ${MASTER_KEY_FILE_VARIABLE}`,
        );
      }
      await writeFile(this.masterKeyFile, `${generateMasterKey()}\n`, { mode: 0o600, flag: 'wx' });
    }
    return new FileKeyProvider(this.masterKeyFile);
  }

  /** The master key, as a ConfigError when it is unusable. */
  async masterKey(): Promise<Uint8Array> {
    const provider = await this.keyProvider();
    try {
      return provider.masterKey();
    } catch (error) {
      if (error instanceof SecretError) throw fileError(provider.source, error.message);
      throw error;
    }
  }

  /**
   * The stored secrets in plaintext, and whether the file needs rewriting (absent, the
   * plaintext first format, or plaintext values in it).
   *
   * @throws ConfigError when the file is unreadable or a value does not open with the master key.
   */
  async read(masterKey: Uint8Array): Promise<{ values: SecretValues; stale: boolean }> {
    if (!existsSync(this.file)) return { values: {}, stale: true };
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, unknown>;
    } catch {
      throw fileError(this.file, 'is not JSON');
    }
    if (parsed['format'] !== FORMAT) return { values: fromLegacy(parsed), stale: true };
    const stored = (parsed['values'] ?? {}) as Record<string, unknown>;
    const values: SecretValues = {};
    let stale = false;
    for (const [name, value] of Object.entries(stored)) {
      if (typeof value !== 'string') continue;
      if (!isSealed(value)) {
        values[name] = value;
        stale = true;
        continue;
      }
      try {
        values[name] = openSecret(value, masterKey, name);
      } catch (error) {
        if (error instanceof SecretError) throw fileError(this.file, error.message);
        throw error;
      }
    }
    return { values, stale };
  }

  /** Writes `values` sealed, atomically (a 0600 temporary file renamed over the old one). */
  async write(values: SecretValues, masterKey: Uint8Array): Promise<void> {
    const sealed = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [name, sealSecret(value, masterKey, name)]),
    );
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ format: FORMAT, values: sealed }, null, 2)}\n`, {
      mode: 0o600,
    });
    await rename(temporary, this.file);
  }

  /**
   * Start-up: reads the secrets, generates missing ones, and rewrites the file sealed when
   * anything changed (first start, a plaintext file of an earlier version, new secrets).
   */
  async loadOrCreate(): Promise<{ values: SecretValues; rewritten: boolean }> {
    const masterKey = await this.masterKey();
    const { values, stale } = await this.read(masterKey);
    const complete = withGeneratedSecrets(values);
    const changed = stale || Object.keys(complete).length !== Object.keys(values).length;
    if (changed) await this.write(complete, masterKey);
    return { values: complete, rewritten: changed };
  }

  /**
   * The environment embedded mode configures itself from: the stored secrets under `env`, a group
   * of {@link SECRET_GROUPS} coming from `env` whenever `env` sets its first variable. (Sealed
   * values in `env` itself need `COURIER_MASTER_KEY(_FILE)`, like in every other process.)
   */
  environment(values: SecretValues): NodeJS.ProcessEnv {
    const merged: NodeJS.ProcessEnv = { ...this.#env };
    for (const group of SECRET_GROUPS) {
      if (this.#env[group[0]] !== undefined) continue;
      for (const name of group) merged[name] = values[name];
    }
    return merged;
  }
}

/** Every key embedded mode runs with. */
export interface EmbeddedKeys {
  readonly routerSecret: string;
  readonly tokenSecret: string;
  readonly previousTokenSecrets: readonly string[];
  readonly zkSecretParams: ServerSecretParams;
  readonly senderCertificateKeys: SenderCertificateKeys;
  /** True when the secrets file was (re)written sealed at this start. */
  readonly rewritten: boolean;
}

/**
 * Embedded mode's keys: the secrets file (created, completed or migrated to sealed form as
 * needed) under the environment's values (see {@link EmbeddedSecretsFile.environment}).
 *
 * @throws ConfigError when the master key, the file or a value is unusable.
 */
export async function loadEmbeddedKeys(
  dataDir: string,
  options: { readonly production: boolean; readonly env?: NodeJS.ProcessEnv },
): Promise<EmbeddedKeys> {
  const file = new EmbeddedSecretsFile(dataDir, options.env ?? process.env);
  const { values, rewritten } = await file.loadOrCreate();
  const env = file.environment(values);
  const keyring = parseEnv(routerSecretEnv.extend(authEnv.shape), env);
  return {
    routerSecret: keyring.ROUTER_SECRET,
    tokenSecret: keyring.TOKEN_SECRET,
    previousTokenSecrets: keyring.TOKEN_SECRETS_PREVIOUS,
    zkSecretParams: loadZkServerSecretParams({ production: options.production, env }),
    senderCertificateKeys: loadSenderCertificateKeys({ production: options.production, env }),
    rewritten,
  };
}
