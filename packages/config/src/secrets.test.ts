import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, authEnv, parseEnv } from './index.ts';
import {
  SEALED_PREFIX,
  SecretError,
  decodeMasterKey,
  generateMasterKey,
  openSealedEnv,
  openSecret,
  sealSecret,
  useKeyProvider,
} from './secrets.ts';

const MASTER = generateMasterKey();
const KEY = decodeMasterKey(MASTER, 'test');
const TOKEN_SECRET = 't'.repeat(40);
const dir = mkdtempSync(join(tmpdir(), 'courier-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The message and problems of the ConfigError `parse` throws. */
function configErrorOf(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return `${(error as ConfigError).message}\n${(error as ConfigError).problems.join('\n')}`;
  }
  throw new Error('expected a ConfigError');
}

describe('sealed secrets', () => {
  it('round-trips with a fresh nonce each time, bound to the variable name', () => {
    const sealed = sealSecret('hunter2-hunter2', KEY, 'TOKEN_SECRET');
    expect(sealed.startsWith(SEALED_PREFIX)).toBe(true);
    expect(sealSecret('hunter2-hunter2', KEY, 'TOKEN_SECRET')).not.toBe(sealed);
    expect(openSecret(sealed, KEY, 'TOKEN_SECRET')).toBe('hunter2-hunter2');
    expect(() => openSecret(sealed, KEY, 'ROUTER_SECRET')).toThrow(SecretError);
    expect(() =>
      openSecret(sealed, decodeMasterKey(generateMasterKey(), 'x'), 'TOKEN_SECRET'),
    ).toThrow(/cannot be opened/);
    const bytes = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
    bytes[20] = bytes[20]! ^ 1;
    expect(() =>
      openSecret(`${SEALED_PREFIX}${bytes.toString('base64')}`, KEY, 'TOKEN_SECRET'),
    ).toThrow(SecretError);
    expect(() => openSecret('enc:v1:!!', KEY, 'TOKEN_SECRET')).toThrow(/malformed/);
    expect(() => openSecret('enc:v9:AAAA', KEY, 'TOKEN_SECRET')).toThrow(/unsupported/);
  });

  it('refuses master keys that are not base64 of 32 bytes, without echoing them', () => {
    expect(() => decodeMasterKey('c2hvcnQ=', 'COURIER_MASTER_KEY')).toThrow(/32 bytes/);
    let message = '';
    try {
      decodeMasterKey('not-base64-at-all!', 'COURIER_MASTER_KEY');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^COURIER_MASTER_KEY: /);
    expect(message).not.toContain('not-base64');
  });
});

describe('parseEnv with sealed values', () => {
  const sealedEnv = (extra: NodeJS.ProcessEnv = {}) => ({
    TOKEN_SECRET: sealSecret(TOKEN_SECRET, KEY, 'TOKEN_SECRET'),
    TOKEN_SECRETS_PREVIOUS: sealSecret(
      `${'a'.repeat(32)},${'b'.repeat(32)}`,
      KEY,
      'TOKEN_SECRETS_PREVIOUS',
    ),
    ...extra,
  });

  it('opens enc: values with COURIER_MASTER_KEY before validating', () => {
    const env = parseEnv(authEnv, sealedEnv({ COURIER_MASTER_KEY: MASTER }));
    expect(env.TOKEN_SECRET).toBe(TOKEN_SECRET);
    expect(env.TOKEN_SECRETS_PREVIOUS).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
  });

  it('opens them with COURIER_MASTER_KEY_FILE', () => {
    const file = join(dir, 'master.key');
    writeFileSync(file, `${MASTER}\n`, { mode: 0o600 });
    expect(parseEnv(authEnv, sealedEnv({ COURIER_MASTER_KEY_FILE: file })).TOKEN_SECRET).toBe(
      TOKEN_SECRET,
    );
    expect(
      configErrorOf(() =>
        parseEnv(authEnv, sealedEnv({ COURIER_MASTER_KEY_FILE: join(dir, 'missing.key') })),
      ),
    ).toMatch(/cannot read the master key file \(ENOENT\)/);
  });

  it('is a ConfigError naming the variables when the master key is missing, wrong or ambiguous', () => {
    expect(configErrorOf(() => parseEnv(authEnv, sealedEnv()))).toMatch(
      /TOKEN_SECRET, TOKEN_SECRETS_PREVIOUS: sealed \(enc:\) values need the master key/,
    );
    const wrong = configErrorOf(() =>
      parseEnv(authEnv, sealedEnv({ COURIER_MASTER_KEY: generateMasterKey() })),
    );
    expect(wrong).toMatch(
      /TOKEN_SECRET: cannot be opened with the master key from COURIER_MASTER_KEY/,
    );
    expect(wrong).not.toContain(TOKEN_SECRET);
    expect(
      configErrorOf(() =>
        parseEnv(authEnv, sealedEnv({ COURIER_MASTER_KEY: MASTER, COURIER_MASTER_KEY_FILE: '/x' })),
      ),
    ).toMatch(/not both/);
    expect(
      configErrorOf(() => parseEnv(authEnv, sealedEnv({ COURIER_MASTER_KEY: 'short' }))),
    ).toMatch(/COURIER_MASTER_KEY: the master key must be/);
  });

  it('refuses a sealed value moved to another variable', () => {
    const moved = {
      TOKEN_SECRET: sealSecret(TOKEN_SECRET, KEY, 'ROUTER_SECRET'),
      COURIER_MASTER_KEY: MASTER,
    };
    expect(configErrorOf(() => parseEnv(authEnv, moved))).toMatch(
      /TOKEN_SECRET: cannot be opened .*sealed for another variable/,
    );
  });

  it('needs no master key when nothing is sealed, and leaves the given env untouched', () => {
    expect(parseEnv(authEnv, { TOKEN_SECRET }).TOKEN_SECRET).toBe(TOKEN_SECRET);
    const env = sealedEnv({ COURIER_MASTER_KEY: MASTER });
    const copy = { ...env };
    openSealedEnv(env);
    expect(env).toEqual(copy);
  });

  it('uses an installed key provider (the KMS extension point) before the variables', () => {
    useKeyProvider({ source: 'test KMS', masterKey: () => KEY });
    try {
      expect(parseEnv(authEnv, sealedEnv()).TOKEN_SECRET).toBe(TOKEN_SECRET);
    } finally {
      useKeyProvider(undefined);
    }
  });
});
