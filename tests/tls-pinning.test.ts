import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { createGateway, type RunningGateway } from '@courier/gateway';
import {
  spawnSubgraphProcess,
  startPlatform,
  type Platform,
  type SubgraphProcess,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

interface Certificate {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** base64 SHA-256 of the certificate's SubjectPublicKeyInfo (an HPKP-style pin). */
  readonly pin: string;
}

function spkiPin(der: Buffer): string {
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

async function makeCertificate(dir: string, name: string): Promise<Certificate> {
  const [certFile, keyFile] = [path.join(dir, `${name}.crt`), path.join(dir, `${name}.key`)];
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', keyFile, '-out', certFile, '-days', '1'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  );
  const cert = await readFile(certFile);
  return { cert, key: await readFile(keyFile), pin: spkiPin(new X509Certificate(cert).raw) };
}

/**
 * A client that trusts both test certificates but accepts only the one whose SPKI hash is
 * `pin`: resolves with the HTTP status, rejects when the pin does not match.
 */
function pinnedGet(url: string, pin: string, trusted: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: [...trusted],
        agent: false,
        checkServerIdentity: (_host: string, peer: PeerCertificate) =>
          spkiPin(peer.raw) === pin ? undefined : new Error('certificate pin mismatch'),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function handshakeWith(url: string, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port: Number(port),
      rejectUnauthorized: false,
      maxVersion,
    });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol() ?? '');
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('TLS on the gateway and the upload service: 1.3 only, reload, pinning', () => {
  let platform: Platform;
  let dir: string;
  let first: Certificate;
  let second: Certificate;
  let gateway: RunningGateway;
  let attachments: SubgraphProcess;
  const live = () => ({
    certFile: path.join(dir, 'live.crt'),
    keyFile: path.join(dir, 'live.key'),
  });

  /** Replaces the served certificate files atomically, as cert-manager does. */
  const install = async (certificate: Certificate) => {
    const files = live();
    await writeFile(`${files.keyFile}.tmp`, certificate.key);
    await writeFile(`${files.certFile}.tmp`, certificate.cert);
    await rename(`${files.keyFile}.tmp`, files.keyFile);
    await rename(`${files.certFile}.tmp`, files.certFile);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'courier-tls-'));
    [first, second] = [await makeCertificate(dir, 'first'), await makeCertificate(dir, 'second')];
    await install(first);
    platform = await startPlatform();
    gateway = await createGateway({
      supergraphSdl: await readFile(
        new URL('../schema/supergraph.graphql', import.meta.url),
        'utf8',
      ),
      subgraphUrls: Object.fromEntries(
        Object.entries(platform.subgraphs).map(([name, server]) => [name, server.url]),
      ),
      routerSecret: platform.routerSecret,
      host: '127.0.0.1',
      port: 0,
      tls: live(),
    });
    attachments = await spawnSubgraphProcess('attachments', {
      ...platform.processEnv(),
      TLS_CERT_FILE: live().certFile,
      TLS_KEY_FILE: live().keyFile,
    });
  }, 60_000);
  afterAll(async () => {
    await attachments?.stop();
    await gateway?.close();
    await platform?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves TLS 1.3 only, to clients that pin its key, and reloads a new certificate without a restart', async () => {
    const trusted = [first.cert, second.cert];
    const health = gateway.url.replace(/\/graphql$/, '/healthcheck');
    const download = attachments.url.replace(/\/graphql$/, '/attachments/AAAAAAAAAAAAAAAAAAAA');
    expect(attachments.url).toMatch(/^https:/);

    for (const url of [health, download]) {
      expect(await handshakeWith(url, 'TLSv1.3')).toBe('TLSv1.3');
      await expect(handshakeWith(url, 'TLSv1.2')).rejects.toThrow();
      expect(await pinnedGet(url, first.pin, trusted)).toBeLessThan(500);
      await expect(pinnedGet(url, second.pin, trusted)).rejects.toThrow(/pin mismatch/);
    }

    await install(second);
    for (const url of [health, download]) {
      await vi.waitFor(
        async () => expect(await pinnedGet(url, second.pin, trusted)).toBeLessThan(500),
        {
          timeout: 10_000,
        },
      );
      await expect(pinnedGet(url, first.pin, trusted)).rejects.toThrow(/pin mismatch/);
    }
    expect(await pinnedGet(download, second.pin, trusted)).toBe(404);
  });
});
