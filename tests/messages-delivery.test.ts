import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  Inbox,
  acknowledgeEnvelopes,
  expectData,
  postGraphQL,
  registerTestAccount,
  sendOpaqueMessage,
  startPlatform,
  testRedisUrl,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const POLL = `query ($limit: Int, $wait: Int) { envelopes(limit: $limit, waitSeconds: $wait) {
  more envelopes { guid content sourceServiceId } } }`;

interface PolledPage {
  more: boolean;
  envelopes: Array<{ guid: string; content: string; sourceServiceId: string }>;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('envelope delivery modes through the gateway', () => {
  let platform: Platform;
  let numbers = 0;
  const register = () =>
    registerTestAccount(platform, `+1415557${String(1000 + numbers++).padStart(4, '0')}`);

  const send = (from: TestAccount, to: TestAccount, content: Uint8Array) =>
    sendOpaqueMessage(platform.gatewayUrl, from.token, to, content);

  const poll = async (account: TestAccount, variables: Record<string, unknown>) =>
    postGraphQL<{ envelopes: PolledPage }>(platform.gatewayUrl, POLL, {
      token: account.token,
      variables,
    });

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('ends the older stream when the same device subscribes again (CONFLICT)', async () => {
    const [alice, bob] = [await register(), await register()];
    const first = new Inbox(platform.gatewayWsUrl, bob.token);
    expect(await first.drain()).toEqual([]);
    const second = new Inbox(platform.gatewayWsUrl, bob.token);
    try {
      expect(await second.drain()).toEqual([]);
      const replaced = await first.nextResult();
      expect(replaced?.errors?.[0]?.extensions?.['code']).toBe('CONFLICT');
      expect(await first.nextResult()).toBeUndefined();

      const content = new Uint8Array(randomBytes(32));
      await send(alice, bob, content);
      const [received] = await second.take(1);
      expect(received!.content).toBe(b64(content));
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('serves the long-poll fallback: pages, waits for a message, validates its arguments', async () => {
    const [alice, bob] = [await register(), await register()];
    const contents = Array.from({ length: 3 }, () => new Uint8Array(randomBytes(16)));
    for (const content of contents) await send(alice, bob, content);

    const firstPage = expectData(await poll(bob, { limit: 2 }), 'envelopes').envelopes;
    expect(firstPage.more).toBe(true);
    expect(firstPage.envelopes.map((envelope) => envelope.content)).toEqual(
      contents.slice(0, 2).map(b64),
    );
    expect(firstPage.envelopes[0]!.sourceServiceId).toBe(alice.aci);
    await acknowledgeEnvelopes(
      platform.gatewayUrl,
      bob.token,
      firstPage.envelopes.map((envelope) => envelope.guid),
    );
    const secondPage = expectData(await poll(bob, { limit: 2 }), 'envelopes').envelopes;
    expect(secondPage).toMatchObject({ more: false, envelopes: [{ content: b64(contents[2]!) }] });
    await acknowledgeEnvelopes(platform.gatewayUrl, bob.token, [secondPage.envelopes[0]!.guid]);

    // Nothing stored: a poll with a wait returns the message sent while it waits (or, if the
    // send wins the race, finds it stored at once).
    const later = new Uint8Array(randomBytes(16));
    const waiting = poll(bob, { wait: 20 });
    await send(alice, bob, later);
    const woken = expectData(await waiting, 'envelopes').envelopes;
    expect(woken.envelopes.map((envelope) => envelope.content)).toEqual([b64(later)]);

    // Nothing arrives: an empty page after the wait.
    const carol = await register();
    const empty = expectData(await poll(carol, { wait: 1 }), 'envelopes').envelopes;
    expect(empty).toEqual({ more: false, envelopes: [] });

    for (const variables of [{ limit: 0 }, { limit: 101 }, { wait: -1 }, { wait: 26 }]) {
      const { body } = await poll(bob, variables);
      expect(body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    }
    expect(
      (await postGraphQL(platform.gatewayUrl, POLL)).body.errors?.[0]?.extensions?.['code'],
    ).toBe('UNAUTHENTICATED');
  });

  it('streams envelopes over SSE through the gateway', async () => {
    const [alice, bob] = [await register(), await register()];
    const stored = new Uint8Array(randomBytes(24));
    await send(alice, bob, stored);
    const abort = new AbortController();
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${bob.token}`,
      },
      body: JSON.stringify({
        query: `subscription { envelopes { __typename ... on Envelope { guid content } } }`,
      }),
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const events: Array<{ __typename: string; content?: string }> = [];
    const nextEvent = async () => {
      for (;;) {
        const line = buffer.split('\n').find((candidate) => candidate.startsWith('data: {'));
        if (line) {
          buffer = buffer.slice(buffer.indexOf(line) + line.length);
          const parsed = JSON.parse(line.slice('data: '.length)) as {
            data: { envelopes: { __typename: string; content?: string } };
          };
          return parsed.data.envelopes;
        }
        const chunk = await reader.read();
        if (chunk.done) throw new Error('SSE stream ended');
        buffer += chunk.value;
      }
    };
    try {
      events.push(await nextEvent(), await nextEvent());
      expect(events).toMatchObject([
        { __typename: 'Envelope', content: b64(stored) },
        { __typename: 'QueueEmpty' },
      ]);
      const live = new Uint8Array(randomBytes(24));
      await send(alice, bob, live);
      expect(await nextEvent()).toMatchObject({ __typename: 'Envelope', content: b64(live) });
    } finally {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    }
  });

  it('keeps nothing of a message in PostgreSQL or Redis once it is acknowledged', async () => {
    const [alice, bob] = [await register(), await register()];
    const content = new Uint8Array(randomBytes(48));
    const inbox = new Inbox(platform.gatewayWsUrl, bob.token);
    let guid: string;
    try {
      await inbox.drain();
      await send(alice, bob, content);
      const [received] = await inbox.take(1);
      guid = received!.guid;
      expect(await acknowledgeEnvelopes(platform.gatewayUrl, bob.token, [guid])).toBe(1);
    } finally {
      await inbox.close();
    }
    const prisma = platform.runtime.prisma;
    expect(await prisma.queuedEnvelope.count({ where: { guid } })).toBe(0);
    // No queued envelope holds the ciphertext or the guid (the server delivery receipt for Alice
    // names only the original timestamp); other tables are not searched.
    const hits = await prisma.$queryRawUnsafe<{ count: bigint }[]>(
      `SELECT count(*) FROM messages.queued_envelopes
       WHERE position($1::bytea IN envelope) > 0 OR guid = $2::uuid`,
      Buffer.from(content),
      guid,
    );
    expect(Number(hits[0]!.count)).toBe(0);

    const redis = new Redis(testRedisUrl());
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${platform.redisPrefix}*`);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      const needles = [Buffer.from(content), Buffer.from(guid), Buffer.from(b64(content))];
      for (const key of keys) {
        expect(key.includes(guid)).toBe(false);
        const dumped = await redis.dumpBuffer(key);
        for (const needle of needles) expect(dumped?.includes(needle) ?? false).toBe(false);
      }
    } finally {
      redis.disconnect();
    }
  });
});
