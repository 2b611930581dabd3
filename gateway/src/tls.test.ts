import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createGateway, type RunningGateway } from './server.ts';
import {
  composeAtDefaultPorts,
  startAccountsSubgraph,
  startMessagesSubgraph,
  type TestSubgraph,
} from './test-subgraphs.ts';

let dir: string;
let ca: Buffer;
let subgraphs: TestSubgraph[] = [];
let gateway: RunningGateway;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'courier-gateway-tls-'));
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(join(dir, 'cert.pem'));
  subgraphs = await Promise.all([startAccountsSubgraph(), startMessagesSubgraph()]);
  gateway = await createGateway({
    supergraphSdl: composeAtDefaultPorts(subgraphs),
    subgraphUrls: Object.fromEntries(subgraphs.map((subgraph) => [subgraph.name, subgraph.url])),
    routerSecret: 'test-router-secret-0123456789abcdefghij',
    host: '127.0.0.1',
    port: 0,
    tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
    logger: { level: 'silent', trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all(subgraphs.map((subgraph) => subgraph.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function handshake(maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<string> {
  const { port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port: Number(port),
      ca,
      servername: 'localhost',
      maxVersion,
    });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol() ?? 'unknown');
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('TLS', () => {
  it('serves HTTPS and WSS URLs', () => {
    expect(gateway.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(gateway.wsUrl).toBe(gateway.url.replace('https://', 'wss://'));
  });

  it('refuses a TLS 1.2-only client and accepts TLS 1.3', async () => {
    await expect(handshake('TLSv1.2')).rejects.toThrow(/protocol version|alert/i);
    await expect(handshake('TLSv1.3')).resolves.toBe('TLSv1.3');
  });

  it('answers GraphQL over HTTPS', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(gateway.url, {
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json' },
      });
      req.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ query: '{ me { aci number } }' }));
    });
    expect(JSON.parse(body)).toEqual({ data: { me: { aci: 'aci-1', number: '+15555000' } } });
  });

  it('carries graphql-ws subscriptions over WSS', async () => {
    const client = createClient({
      url: gateway.wsUrl,
      retryAttempts: 0,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { ca });
        }
      },
    });
    try {
      const events: unknown[] = [];
      for await (const event of client.iterate({
        query: 'subscription { envelopes(count: 1) { guid } }',
      })) {
        events.push(event);
      }
      expect(events).toEqual([{ data: { envelopes: { guid: 'guid-1' } } }]);
    } finally {
      await client.dispose();
    }
  });
});
