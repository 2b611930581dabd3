import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLogger, type CreateLoggerOptions } from './logger.ts';
import {
  REDACTED,
  REDACT_PATHS,
  SENSITIVE_KEYS,
  isSensitiveKey,
  redactingSpanExporter,
  scrub,
} from './redaction.ts';

const SECRET = 'super-secret-value';

/** A logger writing into an array, one parsed JSON object per line. */
function memoryLogger(options: Partial<CreateLoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'test',
    level: 'trace',
    ...options,
    destination: { write: (line: string) => void lines.push(line) },
  });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, records };
}

describe('createLogger', () => {
  it('replaces IP addresses in error messages and stacks', () => {
    const { logger, lines } = memoryLogger();
    logger.error({ err: new Error('connect ECONNREFUSED 10.1.2.3:4003') }, 'upstream failed');
    logger.warn({ error: { message: 'peer ::ffff:10.1.2.3 and 2001:db8::7 left' } }, 'peer');
    const text = lines.join('');
    expect(text).toContain('ECONNREFUSED [address]:4003');
    expect(text).not.toMatch(/10\.1\.2\.3|2001:db8/);
  });

  it('redacts every sensitive field at the top level', () => {
    const { logger, records, lines } = memoryLogger();
    for (const key of SENSITIVE_KEYS) logger.info({ [key]: SECRET, keep: key }, 'event');
    const logged = records();
    expect(logged).toHaveLength(SENSITIVE_KEYS.length);
    logged.forEach((record, index) => {
      const key = SENSITIVE_KEYS[index]!;
      expect(record[key], key).toBe(REDACTED);
      expect(record['keep']).toBe(key);
      expect(record['msg']).toBe('event');
    });
    expect(lines.join('')).not.toContain(SECRET);
  });

  it('redacts sensitive fields when nested, in arrays and at any depth', () => {
    const { logger, records, lines } = memoryLogger();
    logger.info({
      request: {
        headers: {
          authorization: `Bearer ${SECRET}`,
          cookie: SECRET,
          'x-forwarded-for': SECRET,
          accept: '*/*',
        },
      },
      user: { password: SECRET, name: 'alice' },
      input: { destination: 'PNI:abc', messages: [{ deviceId: 1, content: SECRET }] },
      account: { number: SECRET, e164: SECRET, aci: 'aci-1' },
      keys: {
        identityKey: SECRET,
        signedPreKey: { keyId: 1, publicKey: SECRET, signature: SECRET },
      },
      list: [{ password: SECRET }, { token: SECRET, id: 7 }],
      a: { b: { c: { d: { e: { f: { password: SECRET, ok: true } } } } } },
      connection: { remoteAddress: SECRET, ip: SECRET, remotePort: 443 },
    });
    const [record] = records() as [Record<string, Record<string, unknown>>];
    expect(lines.join('')).not.toContain(SECRET);
    expect(record['request']).toEqual({
      headers: {
        authorization: REDACTED,
        cookie: REDACTED,
        'x-forwarded-for': REDACTED,
        accept: '*/*',
      },
    });
    expect(record['user']).toEqual({ password: REDACTED, name: 'alice' });
    expect(record['input']).toEqual({ destination: 'PNI:abc', messages: REDACTED });
    expect(record['account']).toEqual({ number: REDACTED, e164: REDACTED, aci: 'aci-1' });
    expect(record['keys']).toEqual({ identityKey: REDACTED, signedPreKey: REDACTED });
    expect(record['list']).toEqual([{ password: REDACTED }, { token: REDACTED, id: 7 }]);
    expect(record['a']).toEqual({
      b: { c: { d: { e: { f: { password: REDACTED, ok: true } } } } },
    });
    expect(record['connection']).toEqual({
      remoteAddress: REDACTED,
      ip: REDACTED,
      remotePort: 443,
    });
  });

  it('redacts fields named like *Key, *Token, *Password, *Secret', () => {
    const { logger, records } = memoryLogger();
    logger.info({
      kyberLastResortKey: SECRET,
      nested: { apiKey: SECRET, pushToken: SECRET, oldPassword: SECRET, clientSecret: SECRET },
      key: 'attachment-key-id',
      monkey: 'kept',
    });
    expect(records()[0]).toMatchObject({
      kyberLastResortKey: REDACTED,
      nested: {
        apiKey: REDACTED,
        pushToken: REDACTED,
        oldPassword: REDACTED,
        clientSecret: REDACTED,
      },
      key: 'attachment-key-id',
      monkey: 'kept',
    });
  });

  it('keeps non-sensitive fields and the standard ones', () => {
    const { logger, records } = memoryLogger();
    logger.warn(
      { deviceId: 2, serviceId: 'abc', guid: 'g-1', code: 'RATE_LIMITED', count: 3 },
      'hello %s',
      'world',
    );
    expect(records()[0]).toMatchObject({
      level: 40,
      name: 'test',
      msg: 'hello world',
      deviceId: 2,
      serviceId: 'abc',
      guid: 'g-1',
      code: 'RATE_LIMITED',
      count: 3,
    });
  });

  it('redacts child-logger bindings', () => {
    const { logger, records, lines } = memoryLogger();
    const child = logger.child({ number: SECRET, requestId: 'r-1', auth: { token: SECRET } });
    child.info('in child');
    child.child({ device: { signedPreKey: SECRET, id: 2 } }).info('in grandchild');
    expect(records()[0]).toMatchObject({
      number: REDACTED,
      requestId: 'r-1',
      auth: { token: REDACTED },
      msg: 'in child',
    });
    expect(records()[1]).toMatchObject({
      number: REDACTED,
      device: { signedPreKey: REDACTED, id: 2 },
      msg: 'in grandchild',
    });
    expect(lines.join('')).not.toContain(SECRET);
  });

  it('serializes requests and errors, then redacts them', () => {
    const { logger, records, lines } = memoryLogger();
    const socket = new Socket();
    Object.defineProperty(socket, 'remoteAddress', { value: '203.0.113.7' });
    const req = new IncomingMessage(socket);
    req.method = 'POST';
    req.url = '/graphql';
    req.headers = {
      authorization: `Bearer ${SECRET}`,
      cookie: SECRET,
      'content-type': 'application/json',
    };
    const err = Object.assign(new Error('lookup failed'), { password: SECRET, code: 'E_LOOKUP' });
    logger.error({ req, err }, 'request failed');
    socket.destroy();

    const [record] = records() as [Record<string, Record<string, unknown>>];
    expect(record['req']).toMatchObject({
      method: 'POST',
      url: '/graphql',
      headers: { authorization: REDACTED, cookie: REDACTED, 'content-type': 'application/json' },
      remoteAddress: REDACTED,
    });
    expect(record['err']).toMatchObject({
      message: 'lookup failed',
      password: REDACTED,
      code: 'E_LOOKUP',
    });
    expect(record['err']!['stack']).toEqual(expect.stringContaining('lookup failed'));
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).not.toContain('203.0.113.7');
  });

  it('does not modify the logged object', () => {
    const { logger } = memoryLogger();
    const payload = { user: { password: SECRET }, number: SECRET };
    logger.info(payload);
    expect(payload).toEqual({ user: { password: SECRET }, number: SECRET });
  });

  it('honours the level', () => {
    const { logger, records } = memoryLogger({ level: 'warn' });
    logger.info('hidden');
    logger.error('shown');
    expect(records().map((record) => record['msg'])).toEqual(['shown']);
    expect(createLogger({ name: 'quiet', level: 'silent' }).isLevelEnabled('fatal')).toBe(false);
    expect(createLogger({ name: 'default' }).level).toBe('info');
  });

  it('redacts in pretty mode too', () => {
    const chunks: string[] = [];
    const destination = { write: (chunk: string) => void chunks.push(String(chunk)) };
    const logger = createLogger({ name: 'pretty', pretty: true, destination });
    logger.info({ password: SECRET, nested: { number: SECRET }, deviceId: 3 }, 'pretty line');
    const output = chunks.join('');
    expect(output).toContain('pretty line');
    expect(output).toContain(REDACTED);
    expect(output).toContain('deviceId');
    expect(output).not.toContain(SECRET);
  });
});

describe('REDACT_PATHS', () => {
  it('covers each sensitive name at the top level and nested', () => {
    for (const path of [
      'password',
      'number',
      'identityKey',
      '*.password',
      'req.headers.authorization',
      'req.headers.cookie',
      'req.remoteAddress',
      'res.headers["set-cookie"]',
      'headers["x-forwarded-for"]',
      '["x-forwarded-for"]',
    ]) {
      expect(REDACT_PATHS).toContain(path);
    }
    expect(new Set(REDACT_PATHS).size).toBe(REDACT_PATHS.length);
  });
});

describe('scrub', () => {
  it('copies only what it changes and leaves other objects alone', () => {
    const untouched = { a: 1, b: [1, 2] };
    expect(scrub(untouched)).toBe(untouched);
    const error = Object.assign(new Error('x'), { password: SECRET });
    expect(scrub({ error }).error).toBe(error);
    expect(isSensitiveKey('Authorization')).toBe(true);
    expect(isSensitiveKey('deviceId')).toBe(false);
  });
});

describe('redactingSpanExporter', () => {
  it('drops sensitive attributes before spans are exported', () => {
    const exported: Record<string, unknown>[] = [];
    const exporter = redactingSpanExporter({
      export: (spans, done) => {
        exported.push(...spans.map((span) => ({ ...span.attributes })));
        done({ code: 0 });
      },
      shutdown: async () => undefined,
    });
    const span = {
      attributes: {
        'http.client_ip': '203.0.113.9',
        'url.full': 'http://x/graphql?variables=%7B%7D',
        'graphql.source': 'query { me { number } }',
        'http.route': '/graphql',
      },
    };
    exporter.export([span as never], () => undefined);
    expect(exported).toEqual([{ 'http.route': '/graphql' }]);
  });
});
