import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '@courier/config';
import { createLogger } from '@courier/logging';
import { afterEach, describe, expect, it } from 'vitest';
import { senderFromEnv } from './env.ts';
import { HttpVerificationCodeSender } from './http-sender.ts';
import { LogVerificationCodeSender, VerificationOutbox } from './log-sender.ts';
import { VerificationSendError, type VerificationCodeMessage } from './sender.ts';

const MESSAGE: VerificationCodeMessage = {
  number: '+14155550101',
  code: '042042',
  transport: 'SMS',
  locale: 'en-US',
};

function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'test',
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines };
}

describe('LogVerificationCodeSender', () => {
  it('puts codes in the outbox and logs the code with the number masked', async () => {
    const { logger, lines } = memoryLogger();
    const sender = new LogVerificationCodeSender({ logger, production: false, now: () => 7 });
    await sender.send(MESSAGE);
    await sender.send({ ...MESSAGE, code: '111111', transport: 'VOICE' });
    expect(sender.outbox.latest('+14155550101')).toEqual({
      ...MESSAGE,
      code: '111111',
      transport: 'VOICE',
      sentAt: 7,
    });
    expect(sender.outbox.all('+14155550101')).toHaveLength(2);
    expect(sender.outbox.latest('+14155550102')).toBeUndefined();
    const output = lines.join('');
    expect(output).not.toContain('+14155550101');
    expect(output).toContain('+1********01');
    expect(output).toContain('042042');
  });

  it('never logs the code in production', async () => {
    const { logger, lines } = memoryLogger();
    const sender = new LogVerificationCodeSender({ logger, production: true });
    await sender.send(MESSAGE);
    expect(sender.outbox.latest(MESSAGE.number)?.code).toBe('042042');
    expect(lines.join('')).not.toContain('042042');
    expect(lines.join('')).not.toContain('4155550101');
  });

  it('keeps a bounded outbox', () => {
    const outbox = new VerificationOutbox(2);
    for (const code of ['1', '2', '3']) outbox.record({ ...MESSAGE, code, sentAt: 0 });
    expect(outbox.all(MESSAGE.number).map((entry) => entry.code)).toEqual(['2', '3']);
    outbox.clear();
    expect(outbox.latest(MESSAGE.number)).toBeUndefined();
  });
});

interface Received {
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

describe('HttpVerificationCodeSender against a local HTTP server', () => {
  let server: Server | undefined;

  async function stopServer(): Promise<void> {
    const running = server;
    server = undefined;
    if (!running) return;
    running.closeAllConnections();
    await new Promise((resolve) => running.close(resolve));
  }

  afterEach(stopServer);

  /** Starts a gateway whose nth request is answered by `replies[n]` (`hang`: never answered). */
  async function gateway(replies: Array<number | 'hang'>) {
    const received: Received[] = [];
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({
          authorization: request.headers.authorization,
          contentType: request.headers['content-type'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        });
        const reply = replies[received.length - 1] ?? 200;
        if (reply === 'hang') return;
        response.writeHead(reply, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/send`, received };
  }

  function sender(url: string, waits: number[], timeoutMs = 2000) {
    return new HttpVerificationCodeSender({
      url,
      token: 'gateway-token',
      timeoutMs,
      maxAttempts: 3,
      backoffMs: 100,
      sleep: async (ms) => void waits.push(ms),
    });
  }

  it('POSTs the code as JSON with the bearer token', async () => {
    const { url, received } = await gateway([202]);
    const waits: number[] = [];
    await sender(url, waits).send(MESSAGE);
    expect(received).toEqual([
      {
        authorization: 'Bearer gateway-token',
        contentType: 'application/json',
        body: { number: '+14155550101', code: '042042', transport: 'SMS', locale: 'en-US' },
      },
    ]);
    expect(waits).toEqual([]);
  });

  it('retries 5xx answers with exponential backoff', async () => {
    const { url, received } = await gateway([503, 500, 200]);
    const waits: number[] = [];
    await sender(url, waits).send({ ...MESSAGE, locale: null });
    expect(received).toHaveLength(3);
    expect(received[2]!.body).toMatchObject({ locale: null });
    expect(waits).toEqual([100, 200]);
  });

  it('gives up after the last attempt with the last status', async () => {
    const { url, received } = await gateway([502, 502, 502]);
    const failure = sender(url, []).send(MESSAGE);
    await expect(failure).rejects.toBeInstanceOf(VerificationSendError);
    await expect(failure).rejects.toMatchObject({ status: 502 });
    expect(received).toHaveLength(3);
  });

  it('does not retry a 4xx answer', async () => {
    const { url, received } = await gateway([400, 200]);
    await expect(sender(url, []).send(MESSAGE)).rejects.toMatchObject({ status: 400 });
    expect(received).toHaveLength(1);
  });

  it('times out a hanging attempt and retries it', async () => {
    const { url, received } = await gateway(['hang', 200]);
    const waits: number[] = [];
    await sender(url, waits, 100).send(MESSAGE);
    expect(received).toHaveLength(2);
    expect(waits).toEqual([100]);
  });

  it('retries network errors', async () => {
    const { url } = await gateway([]);
    await stopServer();
    const waits: number[] = [];
    await expect(sender(url, waits).send(MESSAGE)).rejects.toMatchObject({
      message: 'Verification code gateway unreachable',
      status: undefined,
    });
    expect(waits).toEqual([100, 200]);
  });
});

describe('senderFromEnv', () => {
  const { logger } = memoryLogger();

  it('defaults to the log sender with an outbox', () => {
    const chosen = senderFromEnv({ logger, production: false }, {});
    expect(chosen.sender).toBeInstanceOf(LogVerificationCodeSender);
    expect(chosen.outbox).toBeInstanceOf(VerificationOutbox);
  });

  it('builds the HTTP sender from its variables', () => {
    const chosen = senderFromEnv(
      { logger, production: true },
      {
        VERIFICATION_SENDER: 'http',
        VERIFICATION_HTTP_URL: 'https://sms.example/send',
        VERIFICATION_HTTP_TOKEN: 't',
      },
    );
    expect(chosen.sender).toBeInstanceOf(HttpVerificationCodeSender);
    expect(chosen.outbox).toBeUndefined();
  });

  it('names every missing or invalid variable', () => {
    try {
      senderFromEnv({ logger, production: false }, { VERIFICATION_SENDER: 'http' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        'VERIFICATION_HTTP_URL: required when VERIFICATION_SENDER=http',
        'VERIFICATION_HTTP_TOKEN: required when VERIFICATION_SENDER=http',
      ]);
    }
    expect(() =>
      senderFromEnv({ logger, production: false }, { VERIFICATION_SENDER: 'carrier-pigeon' }),
    ).toThrow(ConfigError);
  });
});
