import { ConfigError } from '@courier/config';
import { describe, expect, it, vi } from 'vitest';
import {
  generateZkServerSecretParams,
  loadZkServerSecretParams,
  parseZkServerSecretParams,
} from './zk-params.ts';

describe('zkgroup server params', () => {
  it('round-trips generated params through base64', () => {
    const text = generateZkServerSecretParams();
    const params = parseZkServerSecretParams(text);
    expect(Buffer.from(params.serialize()).toString('base64')).toBe(text);
  });

  it('loads ZK_SERVER_SECRET_PARAMS when set', () => {
    const text = generateZkServerSecretParams();
    const params = loadZkServerSecretParams({
      production: true,
      env: { ZK_SERVER_SECRET_PARAMS: text },
    });
    expect(Buffer.from(params.serialize()).toString('base64')).toBe(text);
  });

  it('refuses malformed params with a ConfigError naming the variable', () => {
    for (const value of ['not base64!', Buffer.from('short').toString('base64')]) {
      expect(() =>
        loadZkServerSecretParams({ production: false, env: { ZK_SERVER_SECRET_PARAMS: value } }),
      ).toThrow(/ZK_SERVER_SECRET_PARAMS/);
    }
  });

  it('requires the params in production', () => {
    expect(() => loadZkServerSecretParams({ production: true, env: {} })).toThrow(ConfigError);
  });

  it('generates ephemeral params outside production, with a warning that carries no params', () => {
    const warn = vi.fn();
    const logger = { warn } as unknown as Parameters<typeof loadZkServerSecretParams>[0]['logger'];
    const first = loadZkServerSecretParams({ production: false, env: {}, logger });
    const second = loadZkServerSecretParams({ production: false, env: {} });
    expect(first.serialize()).not.toEqual(second.serialize());
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]).toHaveLength(1);
  });
});
