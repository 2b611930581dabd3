import { request as httpRequest } from 'node:http';
import { createClient, type FormattedExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createGateway, type RunningGateway } from './server.ts';
import {
  composeAtDefaultPorts,
  startAccountsSubgraph,
  startMessagesSubgraph,
  type TestSubgraph,
} from './test-subgraphs.ts';

const ROUTER_SECRET = 'test-router-secret-0123456789abcdefghij';
const STUDIO = 'https://studio.apollographql.com';
const APP = 'https://app.courier.test';
const silent = {
  level: 'silent',
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

let accounts: TestSubgraph;
let messages: TestSubgraph;
let supergraphSdl: string;
let dev: RunningGateway;
let prod: RunningGateway;
let startupMs: number;

function subgraphUrls(): Record<string, string> {
  return { accounts: accounts.url, messages: messages.url };
}

async function graphql(
  gateway: RunningGateway,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}> {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as never };
}

function subscribeWs(
  url: string,
  query: string,
  connectionParams: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<FormattedExecutionResult<Record<string, unknown>, unknown>[]> {
  const client = createClient({
    url,
    lazy: true,
    retryAttempts: 0,
    connectionParams,
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    },
  });
  const results: FormattedExecutionResult<Record<string, unknown>, unknown>[] = [];
  return new Promise<FormattedExecutionResult<Record<string, unknown>, unknown>[]>(
    (resolve, reject) => {
      client.subscribe(
        { query },
        {
          next: (result) => void results.push(result),
          error: (error: unknown) =>
            reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
          complete: () => resolve(results),
        },
      );
    },
  ).finally(() => client.dispose());
}

function sinceNow(subgraph: TestSubgraph): () => TestSubgraph['seen'] {
  const start = subgraph.seen.length;
  return () => subgraph.seen.slice(start);
}

beforeAll(async () => {
  [accounts, messages] = await Promise.all([startAccountsSubgraph(), startMessagesSubgraph()]);
  supergraphSdl = composeAtDefaultPorts([accounts, messages]);
  const started = performance.now();
  dev = await createGateway({
    supergraphSdl,
    subgraphUrls: subgraphUrls(),
    routerSecret: ROUTER_SECRET,
    corsOrigins: [APP],
    host: '127.0.0.1',
    port: 0,
    logger: silent,
  });
  startupMs = performance.now() - started;
  prod = await createGateway({
    supergraphSdl,
    subgraphUrls: subgraphUrls(),
    routerSecret: ROUTER_SECRET,
    production: true,
    host: '127.0.0.1',
    port: 0,
    logger: silent,
  });
}, 30_000);

afterAll(async () => {
  await Promise.all([dev?.close(), prod?.close()]);
  await Promise.all([accounts?.close(), messages?.close()]);
});

describe('createGateway', () => {
  it('listens on a free port and reports its URLs', () => {
    expect(dev.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(dev.wsUrl).toBe(dev.url.replace('http://', 'ws://'));
    expect(startupMs).toBeLessThan(10_000);
    process.stdout.write(`createGateway start-up: ${startupMs.toFixed(0)} ms\n`);
  });

  it('joins two subgraphs through an entity, reached at the overridden URLs', async () => {
    const { status, body } = await graphql(dev, { query: '{ me { aci number envelopeCount } }' });
    expect(status).toBe(200);
    expect(body).toEqual({ data: { me: { aci: 'aci-1', number: '+15555000', envelopeCount: 3 } } });
  });

  it('sends the router secret and the client authorization to every subgraph over HTTP', async () => {
    const seenByAccounts = sinceNow(accounts);
    const seenByMessages = sinceNow(messages);
    await graphql(
      dev,
      { query: '{ me { number envelopeCount } }' },
      { authorization: 'Bearer http-token' },
    );
    for (const seen of [...seenByAccounts(), ...seenByMessages()]) {
      expect(seen).toMatchObject({
        transport: 'http',
        routerSecret: ROUTER_SECRET,
        authorization: 'Bearer http-token',
      });
    }
    expect(seenByMessages().some((seen) => seen.query?.includes('_entities'))).toBe(true);
  });

  it('does not invent an authorization, nor forward a client-sent router secret', async () => {
    const seenByAccounts = sinceNow(accounts);
    await graphql(dev, { query: '{ me { aci } }' }, { 'x-router-secret': 'forged' });
    expect(seenByAccounts()).toEqual([
      expect.objectContaining({ routerSecret: ROUTER_SECRET, authorization: undefined }),
    ]);
  });

  it('passes every subgraph a pseudonym of the client address, never one the client chose', async () => {
    const seenByAccounts = sinceNow(accounts);
    await graphql(dev, { query: '{ me { aci } }' }, { 'x-courier-client': 'A'.repeat(22) });
    await graphql(dev, { query: '{ me { aci } }' });
    const [spoofed, plain] = seenByAccounts();
    expect(spoofed?.client).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(spoofed?.client).not.toBe('A'.repeat(22));
    expect(plain?.client).toBe(spoofed?.client);
    expect(JSON.stringify(seenByAccounts())).not.toContain('127.0.0.1');
  });

  it('passes graphql-ws subscriptions through, with the secret and authorization on both hops', async () => {
    const seenByAccounts = sinceNow(accounts);
    const seenByMessages = sinceNow(messages);
    const results = await subscribeWs(
      dev.wsUrl,
      'subscription { envelopes { guid account { aci number } } }',
      { authorization: 'Bearer ws-token' },
    );
    expect(results).toEqual([
      { data: { envelopes: { guid: 'guid-1', account: { aci: 'aci-1', number: '+15555000' } } } },
      { data: { envelopes: { guid: 'guid-2', account: { aci: 'aci-2', number: '+15555000' } } } },
    ]);
    expect(seenByMessages()).toContainEqual({
      transport: 'ws',
      routerSecret: ROUTER_SECRET,
      authorization: 'Bearer ws-token',
      upgradeRouterSecret: ROUTER_SECRET,
      client: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    const entityFetches = seenByAccounts().filter((seen) => seen.query?.includes('_entities'));
    expect(entityFetches.length).toBeGreaterThan(0);
    for (const seen of entityFetches) {
      expect(seen).toMatchObject({ routerSecret: ROUTER_SECRET, authorization: 'Bearer ws-token' });
    }
  });

  it('serves subscriptions over SSE, carrying the HTTP authorization upstream', async () => {
    const seenByAccounts = sinceNow(accounts);
    const seenByMessages = sinceNow(messages);
    const response = await fetch(dev.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: 'Bearer sse-token',
      },
      body: JSON.stringify({
        query: 'subscription { envelopes(count: 1) { guid account { number } } }',
      }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await response.text();
    const events = text
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line.length > 'data: '.length)
      .map((line) => JSON.parse(line.slice('data: '.length)) as unknown);
    expect(events).toEqual([
      { data: { envelopes: { guid: 'guid-1', account: { number: '+15555000' } } } },
    ]);
    expect(seenByMessages()).toContainEqual({
      transport: 'ws',
      routerSecret: ROUTER_SECRET,
      authorization: 'Bearer sse-token',
      upgradeRouterSecret: ROUTER_SECRET,
      client: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    expect(seenByAccounts().every((seen) => seen.authorization === 'Bearer sse-token')).toBe(true);
  });
});

describe('cancellation', () => {
  it('abandons the subgraph request when the client goes away (long-poll)', async () => {
    const before = accounts.abandoned;
    await expect(
      fetch(dev.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ wait(ms: 3000) }' }),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    await expect.poll(() => accounts.abandoned, { timeout: 2000 }).toBe(before + 1);
  });
});

describe('CORS', () => {
  async function preflight(origin: string): Promise<Headers> {
    const response = await fetch(dev.url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });
    return response.headers;
  }

  it('allows Apollo Sandbox and configured origins, with credentials', async () => {
    for (const origin of [STUDIO, APP]) {
      const headers = await preflight(origin);
      expect(headers.get('access-control-allow-origin')).toBe(origin);
      expect(headers.get('access-control-allow-credentials')).toBe('true');
      expect(headers.get('vary')).toMatch(/origin/i);
    }
    const response = await fetch(dev.url, {
      method: 'POST',
      headers: { origin: STUDIO, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe(STUDIO);
  });

  it('gives a foreign origin no CORS headers and refuses its WebSocket upgrade', async () => {
    const headers = await preflight('https://evil.example');
    expect(headers.get('access-control-allow-origin')).toBeNull();
    expect(headers.get('access-control-allow-credentials')).toBeNull();
    await expect(
      subscribeWs(
        dev.wsUrl,
        'subscription { envelopes { guid } }',
        {},
        { origin: 'https://evil.example' },
      ),
    ).rejects.toThrow();
    const allowed = await subscribeWs(
      dev.wsUrl,
      'subscription { envelopes(count: 1) { guid } }',
      {},
      { origin: APP },
    );
    expect(allowed).toHaveLength(1);
  });
});

describe('limits', () => {
  function nested(depth: number): string {
    return `{ me { ${'self { '.repeat(depth - 2)}aci${' }'.repeat(depth - 2)} } }`;
  }

  it('refuses documents deeper than maxDepth', async () => {
    expect((await graphql(dev, { query: nested(12) })).body.errors).toBeUndefined();
    const { body } = await graphql(dev, { query: nested(13) });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toMatch(/depth/i);
  });

  it('refuses more aliases than maxAliases', async () => {
    const aliases = (count: number): string =>
      `{ ${Array.from({ length: count }, (_, i) => `a${i}: me { aci }`).join(' ')} }`;
    expect((await graphql(dev, { query: aliases(15) })).body.errors).toBeUndefined();
    const { body } = await graphql(dev, { query: aliases(16) });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toMatch(/aliases/i);
  });

  it('refuses documents with more tokens than maxTokens', async () => {
    const { body } = await graphql(dev, { query: `{ me { ${'aci '.repeat(2000)}} }` });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toMatch(/token limit/i);
  });

  it('answers 413 PAYLOAD_TOO_LARGE to bodies over maxRequestBytes, declared or chunked', async () => {
    const big = JSON.stringify({
      query: '{ me { aci } }',
      variables: { pad: 'x'.repeat(1_400_000) },
    });
    const declared = await fetch(dev.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({
      errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE', limit: 1_310_720 } }],
    });

    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(dev.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      request.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      for (let offset = 0; offset < big.length; offset += 64 * 1024) {
        request.write(big.slice(offset, offset + 64 * 1024));
      }
      request.end();
    });
    expect(chunked.status).toBe(413);
    expect(chunked.body).toContain('PAYLOAD_TOO_LARGE');
  });

  it('closes a WebSocket whose message exceeds maxRequestBytes (1009)', async () => {
    const socket = new WebSocket(dev.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(
      JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(1_400_000) } }),
    );
    expect(await closed).toBe(1009);
  });

  it('accepts a chunked body under the limit', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const request = httpRequest(dev.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      });
      request.on('error', reject);
      request.end(JSON.stringify({ query: '{ me { aci } }' }));
    });
    expect(JSON.parse(body)).toEqual({ data: { me: { aci: 'aci-1' } } });
  });

  it('does not accept batched requests', async () => {
    const { body } = await graphql(dev, [{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('development and production', () => {
  const introspection = { query: '{ __schema { queryType { name } } }' };

  it('answers introspection in development only', async () => {
    expect((await graphql(dev, introspection)).body).toEqual({
      data: { __schema: { queryType: { name: 'Query' } } },
    });
    const { body } = await graphql(prod, introspection);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('serves GraphiQL and the landing page in development only', async () => {
    const graphiql = await fetch(dev.url, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toMatch(/graphiql/i);
    const landing = await fetch(new URL('/', dev.url), { headers: { accept: 'text/html' } });
    expect(landing.headers.get('content-type')).toMatch(/text\/html/);

    const noGraphiql = await fetch(prod.url, { headers: { accept: 'text/html' } });
    expect(await noGraphiql.text()).not.toMatch(/<html/i);
    const noLanding = await fetch(new URL('/', prod.url), { headers: { accept: 'text/html' } });
    expect(noLanding.status).toBe(404);
    expect(await noLanding.text()).not.toMatch(/<html/i);
  });

  it('suggests field names in development only', async () => {
    const query = { query: '{ me { numbr } }' };
    expect((await graphql(dev, query)).body.errors?.[0]?.message).toMatch(/Did you mean/);
    const { body } = await graphql(prod, query);
    expect(body.errors?.[0]?.message).not.toMatch(/Did you mean/);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('masks internal error text in production and keeps coded errors', async () => {
    const failure = { query: '{ internalFailure }' };
    const devError = (await graphql(dev, failure)).body.errors?.[0];
    expect(devError?.message).toContain('10.1.2.3');
    expect(devError?.extensions?.code).toBe('INTERNAL');

    const prodBody = JSON.stringify((await graphql(prod, failure)).body);
    expect(prodBody).not.toContain('10.1.2.3');
    expect(prodBody).not.toContain('accounts');
    expect(JSON.parse(prodBody)).toMatchObject({
      errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL' } }],
    });

    expect((await graphql(prod, { query: '{ forbidden }' })).body.errors?.[0]).toMatchObject({
      message: 'Not allowed',
      extensions: { code: 'FORBIDDEN' },
    });
  });

  it('codes malformed requests BAD_USER_INPUT', async () => {
    for (const gateway of [dev, prod]) {
      const { body } = await graphql(gateway, { query: '{ me { ' });
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const missing = await graphql(gateway, { variables: {} });
      expect(missing.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('probes', () => {
  it('answers /healthcheck and /readiness while everything is up', async () => {
    expect((await fetch(new URL('/healthcheck', dev.url))).status).toBe(200);
    expect((await fetch(new URL('/readiness', dev.url))).status).toBe(200);
  });

  it('is not ready while a subgraph is unreachable', async () => {
    const gateway = await createGateway({
      supergraphSdl,
      subgraphUrls: { ...subgraphUrls(), messages: 'http://127.0.0.1:1/graphql' },
      routerSecret: ROUTER_SECRET,
      host: '127.0.0.1',
      port: 0,
      logger: silent,
    });
    try {
      expect((await fetch(new URL('/healthcheck', gateway.url))).status).toBe(200);
      const readiness = await fetch(new URL('/readiness', gateway.url));
      expect(readiness.status).toBe(503);
      expect(await readiness.json()).toEqual({ ready: false, unreachable: ['messages'] });
    } finally {
      await gateway.close();
    }
  });
});

describe('options', () => {
  it('fails to start, releasing what it opened, on a busy port or a broken supergraph', async () => {
    const base = { routerSecret: ROUTER_SECRET, host: '127.0.0.1', logger: silent };
    const busy = Number(new URL(dev.url).port);
    await expect(createGateway({ ...base, supergraphSdl, port: busy })).rejects.toThrow(
      /EADDRINUSE/,
    );
    await expect(createGateway({ ...base, supergraphSdl: 'type {', port: 0 })).rejects.toThrow();
  });

  it('refuses a short router secret and overrides for unknown subgraphs', async () => {
    await expect(
      createGateway({ supergraphSdl, routerSecret: 'short', port: 0, logger: silent }),
    ).rejects.toThrow(/at least 32/);
    await expect(
      createGateway({
        supergraphSdl,
        routerSecret: ROUTER_SECRET,
        subgraphUrls: { nope: 'http://127.0.0.1:1/graphql' },
        port: 0,
        logger: silent,
      }),
    ).rejects.toThrow(/nope/);
  });
});
