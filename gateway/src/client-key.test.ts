import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CLIENT_KEY_HEADER } from '@courier/schema';
import { ClientKeys } from './client-key.ts';

const SECRET = 'router-secret-0123456789abcdefghijklmnop';
const DAY = 24 * 60 * 60 * 1000;

function request(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return { headers: { ...headers }, socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('ClientKeys', () => {
  it('makes a daily, keyed pseudonym of the address that reveals neither', () => {
    let now = 10 * DAY + 5;
    const keys = new ClientKeys(SECRET, { now: () => now });
    const today = keys.keyOf('203.0.113.9');
    expect(today).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(keys.keyOf('::ffff:203.0.113.9')).toBe(today);
    expect(keys.keyOf('203.0.113.10')).not.toBe(today);
    expect(new ClientKeys(`${SECRET}x`, { now: () => now }).keyOf('203.0.113.9')).not.toBe(today);
    now += DAY;
    expect(keys.keyOf('203.0.113.9')).not.toBe(today);
  });

  it('overwrites a client-sent pseudonym and trusts X-Forwarded-For only when told to', () => {
    const direct = new ClientKeys(SECRET);
    const behindProxy = new ClientKeys(SECRET, { trustProxy: true });
    const forwarded = {
      'x-forwarded-for': '198.51.100.7, 10.0.0.2',
      [CLIENT_KEY_HEADER]: 'forged',
    };

    const req = request('10.0.0.2', forwarded);
    expect(direct.stamp(req)).toBe(direct.keyOf('10.0.0.2'));
    expect(req.headers[CLIENT_KEY_HEADER]).toBe(direct.keyOf('10.0.0.2'));
    expect(behindProxy.stamp(request('10.0.0.2', forwarded))).toBe(
      behindProxy.keyOf('198.51.100.7'),
    );
    expect(behindProxy.stamp(request('10.0.0.3'))).toBe(behindProxy.keyOf('10.0.0.3'));
  });
});
