import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  authEnv,
  decodeMasterKey,
  generateMasterKey,
  openSecret,
  parseEnv,
  sealSecret,
} from '@courier/config';
import { generateSenderCertificateKeys } from '@courier/messages';
import { generateZkServerSecretParams } from '@courier/server';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEmbeddedKeys } from './embedded/secrets.ts';
import { runSecretsCommand } from './secrets-commands.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-embedded-secrets-'));
  dirs.push(dir);
  return dir;
};

/** Runs a command with `env` and `stdin`; returns its status and output lines. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}, stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runSecretsCommand(args, {
    env,
    readStdin: async () => stdin,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { status, out, err };
}

describe('embedded secrets file', () => {
  it('migrates a plaintext secrets.json of the first format to sealed values, keeping them', async () => {
    const dir = dataDir();
    const sender = generateSenderCertificateKeys();
    const legacy = {
      routerSecret: randomBytes(32).toString('hex'),
      tokenSecret: randomBytes(32).toString('hex'),
      zkServerSecretParams: generateZkServerSecretParams(),
      senderCertificateKeys: sender,
    };
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify(legacy), { mode: 0o600 });

    const keys = await loadEmbeddedKeys(dir, { production: true, env: {} });
    expect(keys.rewritten).toBe(true);
    expect(keys.routerSecret).toBe(legacy.routerSecret);
    expect(keys.tokenSecret).toBe(legacy.tokenSecret);
    expect(Buffer.from(keys.zkSecretParams.serialize()).toString('base64')).toBe(
      legacy.zkServerSecretParams,
    );
    expect(Buffer.from(keys.senderCertificateKeys.trustRoot.serialize()).toString('base64')).toBe(
      sender.trustRoot,
    );

    const text = readFileSync(join(dir, 'secrets.json'), 'utf8');
    for (const value of [legacy.routerSecret, legacy.tokenSecret, sender.serverKey]) {
      expect(text).not.toContain(value);
    }
    const stored = JSON.parse(text) as { values: Record<string, string> };
    expect(Object.values(stored.values).every((value) => value.startsWith('enc:v1:'))).toBe(true);
    expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);

    const again = await loadEmbeddedKeys(dir, { production: true, env: {} });
    expect(again.rewritten).toBe(false);
    expect(again.tokenSecret).toBe(legacy.tokenSecret);
  });

  it('refuses to start when the master key is missing or wrong, instead of generating new secrets', async () => {
    const dir = dataDir();
    await loadEmbeddedKeys(dir, { production: false, env: {} });
    const before = readFileSync(join(dir, 'secrets.json'), 'utf8');
    await expect(
      loadEmbeddedKeys(dir, {
        production: false,
        env: { COURIER_MASTER_KEY: generateMasterKey() },
      }),
    ).rejects.toThrow(/cannot be opened/);
    rmSync(join(dir, 'master.key'));
    await expect(loadEmbeddedKeys(dir, { production: false, env: {} })).rejects.toBeInstanceOf(
      ConfigError,
    );
    expect(readFileSync(join(dir, 'secrets.json'), 'utf8')).toBe(before);
  });

  it('rotates and retires the token keyring in place', async () => {
    const dir = dataDir();
    const first = await loadEmbeddedKeys(dir, { production: false, env: {} });

    expect((await run(['rotate', 'token', '--data-dir', dir])).status).toBe(0);
    const rotated = await loadEmbeddedKeys(dir, { production: false, env: {} });
    expect(rotated.tokenSecret).not.toBe(first.tokenSecret);
    expect(rotated.previousTokenSecrets).toEqual([first.tokenSecret]);
    expect(rotated.routerSecret).toBe(first.routerSecret);

    expect((await run(['retire', 'token', '--data-dir', dir])).status).toBe(0);
    const retired = await loadEmbeddedKeys(dir, { production: false, env: {} });
    expect(retired.previousTokenSecrets).toEqual([]);
    expect(retired.tokenSecret).toBe(rotated.tokenSecret);
  });

  it('rotates the sender-certificate server key under the same trust root', async () => {
    const dir = dataDir();
    const first = await loadEmbeddedKeys(dir, { production: false, env: {} });
    expect((await run(['rotate', 'sender-certificate', '--data-dir', dir])).status).toBe(0);
    const rotated = (await loadEmbeddedKeys(dir, { production: false, env: {} }))
      .senderCertificateKeys;
    expect(rotated.keyId).toBe(first.senderCertificateKeys.keyId + 1);
    expect(rotated.trustRoot.serialize()).toEqual(
      first.senderCertificateKeys.trustRoot.serialize(),
    );
    expect(rotated.serverKey.serialize()).not.toEqual(
      first.senderCertificateKeys.serverKey.serialize(),
    );
  });
});

describe('secrets commands in env mode', () => {
  const master = generateMasterKey();
  const key = decodeMasterKey(master, 'test');

  it('seals a value from stdin for one variable', async () => {
    const { status, out } = await run(
      ['seal', 'VERIFICATION_HTTP_TOKEN'],
      { COURIER_MASTER_KEY: master },
      'sms-token\n',
    );
    expect(status).toBe(0);
    expect(openSecret(out[0]!, key, 'VERIFICATION_HTTP_TOKEN')).toBe('sms-token');
    expect((await run(['seal', 'X_TOKEN'], {}, 'v')).status).toBe(78);
    const generated = await run(['generate-master-key']);
    expect(decodeMasterKey(generated.out[0]!, 'generated')).toHaveLength(32);
  });

  it('seals a whole env file (the output of generate) for a Secret', async () => {
    const text = '# comment\nROUTER_SECRET=abc\nEMPTY=\nTOKEN_SECRET=enc:v1:AAAA\n';
    const { status, out } = await run(['seal-env'], { COURIER_MASTER_KEY: master }, text);
    expect(status).toBe(0);
    expect(out).toHaveLength(4);
    expect(out[0]).toBe('# comment');
    expect(openSecret(out[1]!.slice('ROUTER_SECRET='.length), key, 'ROUTER_SECRET')).toBe('abc');
    expect(out.slice(2)).toEqual(['EMPTY=', 'TOKEN_SECRET=enc:v1:AAAA']);
  });

  it('prints the next token keyring sealed from a sealed current one', async () => {
    const current = 'c'.repeat(64);
    const env = {
      COURIER_MASTER_KEY: master,
      TOKEN_SECRET: sealSecret(current, key, 'TOKEN_SECRET'),
      TOKEN_SECRETS_PREVIOUS: sealSecret('p'.repeat(64), key, 'TOKEN_SECRETS_PREVIOUS'),
    };
    const { status, out, err } = await run(['rotate', 'token'], env);
    expect(status).toBe(0);
    expect(out.join('\n')).not.toContain(current);
    expect(err.join('\n')).not.toContain(current);
    const next = Object.fromEntries(out.map((line) => line.split(/=(.*)/s).slice(0, 2)));
    const parsed = parseEnv(authEnv, { ...next, COURIER_MASTER_KEY: master });
    expect(parsed.TOKEN_SECRETS_PREVIOUS).toEqual([current, 'p'.repeat(64)]);
    expect(parsed.TOKEN_SECRET).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fails with a configuration error when there is no keyring to rotate', async () => {
    const { status, err } = await run(['rotate', 'token'], {});
    expect(status).toBe(78);
    expect(err.join('\n')).toMatch(/TOKEN_SECRET/);
    expect((await run(['rotate', 'everything'])).status).toBe(64);
  });
});
