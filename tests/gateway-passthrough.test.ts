import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  ACKNOWLEDGE_ENVELOPES,
  ENVELOPES_SUBSCRIPTION,
  createWsClient,
  metricValue,
  scrapeMetrics,
  registerTestAccount,
  startPlatform,
  subscribe,
  type EnvelopeEvent,
  type GraphQLResponse,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_CLIENT_BUFFERED_BYTES, MAX_PENDING_FRAMES } from '@courier/gateway';
import { signal } from '@courier/proto';

const SEND = `mutation Send($d: String!, $i: SendMessageInput!) {
  sendMessage(destination: $d, input: $i) { __typename ... on SendMessageSuccess { needsSync } } }`;

/** One operation over a graphql-ws client: its single result. */
async function once<T>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse<T>> {
  const results = subscribe<T>(client, query, variables);
  try {
    const first = await results.next();
    return first.value as GraphQLResponse<T>;
  } finally {
    await results.return?.();
  }
}

/** A gateway metric summed over its samples, those of `operationType` only when given. */
async function gatewayMetric(
  platform: Platform,
  name: string,
  operationType?: string,
  gatewayUrl = platform.gatewayUrl,
): Promise<number> {
  const samples = await scrapeMetrics(gatewayUrl, platform.routerSecret);
  return metricValue(samples, name, operationType ? { operationType } : {});
}

/** The passthrough counter of the gateway, summed over operations of `operationType`. */
const passedThrough = (platform: Platform, operationType?: string) =>
  gatewayMetric(platform, 'courier_gateway_passthrough_operations_total', operationType);

/** A bare graphql-ws socket through the gateway, initialised and acknowledged. */
async function openRawSocket(
  wsUrl: string,
  token: string,
): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  const acknowledged = new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve();
    }),
  );
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
  );
  await acknowledged;
  return { ws, closed };
}

describe('the gateway passthrough lane for single-subgraph graphql-ws operations', () => {
  let platform: Platform;
  let alice: TestAccount;
  let bob: TestAccount;

  beforeAll(async () => {
    platform = await startPlatform();
    alice = await registerTestAccount(platform, '+14155557301');
    bob = await registerTestAccount(platform, '+14155557302');
  });
  afterAll(async () => {
    await platform?.stop();
  });

  const sendVariables = (to: TestAccount, content: Buffer) => ({
    d: to.aci,
    i: {
      timestamp: Date.now(),
      messages: [
        {
          deviceId: 1,
          registrationId: to.aciIdentity.registrationId,
          type: 'CIPHERTEXT',
          content: content.toString('base64'),
        },
      ],
    },
  });

  it('sends, receives and acknowledges over one socket each, straight to the messages subgraph', async () => {
    const sender = createWsClient(platform.gatewayWsUrl, { token: alice.token });
    const receiver = createWsClient(platform.gatewayWsUrl, { token: bob.token });
    const events = subscribe<{ envelopes: EnvelopeEvent }>(receiver, ENVELOPES_SUBSCRIPTION);
    try {
      const before = {
        mutations: await passedThrough(platform, 'mutation'),
        subscriptions: await passedThrough(platform, 'subscription'),
      };
      expect((await events.next()).value?.data?.envelopes.__typename).toBe('QueueEmpty');
      const contents = [randomBytes(40), randomBytes(41), randomBytes(42)];
      for (const content of contents) {
        const sent = await once<{ sendMessage: { __typename: string; needsSync: boolean } }>(
          sender,
          SEND,
          sendVariables(bob, content),
        );
        expect(sent).toEqual({
          data: { sendMessage: { __typename: 'SendMessageSuccess', needsSync: false } },
        });
      }
      const received: EnvelopeEvent[] = [];
      for (const _ of contents) received.push((await events.next()).value!.data!.envelopes);
      expect(received.map((envelope) => envelope.content)).toEqual(
        contents.map((content) => content.toString('base64')),
      );
      expect(received.every((envelope) => envelope.sourceServiceId === alice.aci)).toBe(true);
      const acked = await once<{ acknowledgeEnvelopes: number }>(receiver, ACKNOWLEDGE_ENVELOPES, {
        g: received.map((envelope) => envelope.guid),
      });
      expect(acked).toEqual({ data: { acknowledgeEnvelopes: 3 } });
      expect(
        await platform.runtime.prisma.queuedEnvelope.count({ where: { destinationAci: bob.aci } }),
      ).toBe(0);
      expect(await passedThrough(platform, 'mutation')).toBe(before.mutations + 4);
      expect(await passedThrough(platform, 'subscription')).toBe(before.subscriptions + 1);
    } finally {
      await events.return?.();
      await sender.dispose();
      await receiver.dispose();
    }
  });

  it('counts the envelope stream it carries, and leaves joins and subgraphs without graphql-ws to Hive on the same socket, mutations included', async () => {
    const carol = await registerTestAccount(platform, '+14155557303');
    // A gateway of its own, so that no other test's subscriptions move its gauge.
    const gateway = await platform.startGateway(platform.subgraphs.messages.url);
    const open = () =>
      gatewayMetric(platform, 'courier_gateway_subscriptions_open', undefined, gateway.url);
    const client = createWsClient(gateway.wsUrl, { token: carol.token });
    const before = await passedThrough(platform);
    const events = subscribe<{ envelopes: EnvelopeEvent }>(client, ENVELOPES_SUBSCRIPTION);
    try {
      expect((await events.next()).value?.data?.envelopes.__typename).toBe('QueueEmpty');
      expect(await open()).toBe(1);
      const me = await once<{ me: { aci: string; number: string; identityKey: string } }>(
        client,
        '{ me { aci number identityKey } }',
      );
      expect(me.data?.me).toEqual({
        aci: carol.aci,
        number: carol.number,
        identityKey: Buffer.from(carol.aciIdentity.identityKey).toString('base64'),
      });
      const form = await once<{ createAttachmentUploadForm: { __typename: string } }>(
        client,
        'mutation { createAttachmentUploadForm(uploadLength: 1024) { __typename } }',
      );
      expect(form).toEqual({
        data: { createAttachmentUploadForm: { __typename: 'AttachmentUploadForm' } },
      });
      expect(
        await gatewayMetric(
          platform,
          'courier_gateway_passthrough_operations_total',
          undefined,
          gateway.url,
        ),
      ).toBe(1);
      expect(await passedThrough(platform)).toBe(before);
      await events.return?.();
      await vi.waitFor(async () => expect(await open()).toBe(0));
    } finally {
      await events.return?.();
      await client.dispose();
    }
  });

  it("carries a gateway's clients to the subgraph on its two trunks, a channel each, authenticated per channel", async () => {
    const messagesUrl = platform.subgraphs.messages.url;
    const trunkMetric = async (name: string) =>
      metricValue(await scrapeMetrics(messagesUrl, platform.routerSecret), name, {
        subgraph: 'messages',
      });
    const erin = await registerTestAccount(platform, '+14155557305');
    const frank = await registerTestAccount(platform, '+14155557306');
    const trunksBefore = await trunkMetric('courier_trunks_open');
    const gateway = await platform.startGateway(messagesUrl);
    const [erinClient, frankClient, anonymous] = [erin.token, frank.token, undefined].map((token) =>
      createWsClient(gateway.wsUrl, token ? { token } : {}),
    );
    const streams = [erinClient!, frankClient!].map((client) =>
      subscribe<{ envelopes: EnvelopeEvent }>(client, ENVELOPES_SUBSCRIPTION),
    );
    try {
      for (const stream of streams) {
        expect((await stream.next()).value?.data?.envelopes.__typename).toBe('QueueEmpty');
      }
      const refused = await once(anonymous!, ACKNOWLEDGE_ENVELOPES, { g: [] });
      expect(refused.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
      expect(await trunkMetric('courier_trunks_open')).toBe(trunksBefore + 2);
      const channels = await trunkMetric('courier_trunk_channels_open');
      expect(channels).toBeGreaterThanOrEqual(2);
      await streams[0]!.return?.();
      await erinClient!.dispose();
      await vi.waitFor(async () =>
        expect(await trunkMetric('courier_trunk_channels_open')).toBeLessThanOrEqual(channels - 1),
      );
      const content = randomBytes(24);
      await platform.messages[0]!.outbox.enqueue(
        [
          {
            destinationAci: frank.aci,
            destinationDeviceId: 1,
            fields: { type: signal.Envelope.Type.CIPHERTEXT, content },
          },
        ],
        false,
      );
      const delivered = (await streams[1]!.next()).value?.data?.envelopes;
      expect(delivered?.content).toBe(content.toString('base64'));
      await once(frankClient!, ACKNOWLEDGE_ENVELOPES, { g: [delivered!.guid] });
    } finally {
      for (const stream of streams) await stream.return?.();
      for (const client of [erinClient, frankClient, anonymous]) await client!.dispose();
    }
  });

  it('refuses trunk upgrades that do not present the router secret', async () => {
    const url = new URL('/graphql-trunk', platform.subgraphs.messages.url);
    url.protocol = 'ws:';
    const status = await new Promise<number | undefined>((resolve) => {
      const ws = new WebSocket(url, 'courier-trunk.v1');
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('open', () => resolve(101));
      ws.on('error', () => resolve(undefined));
    });
    expect(status).toBe(401);
  });

  it('leaves invalid and over-limit documents to Hive, which refuses them with BAD_USER_INPUT', async () => {
    const client = createWsClient(platform.gatewayWsUrl, { token: alice.token });
    const before = await passedThrough(platform);
    try {
      const unknownField = await once(client, 'mutation { acknowledgeEnvelopes(guids: []) nope }');
      expect(unknownField.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      const aliases = Array.from(
        { length: 16 },
        (_, i) => `a${i}: acknowledgeEnvelopes(guids: [])`,
      ).join(' ');
      const tooMany = await once(client, `mutation { ${aliases} }`);
      expect(tooMany.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(await passedThrough(platform)).toBe(before);
    } finally {
      await client.dispose();
    }
  });

  it("answers the subgraph's coded errors, and UNAUTHENTICATED without a token", async () => {
    const client = createWsClient(platform.gatewayWsUrl, { token: alice.token });
    const anonymous = createWsClient(platform.gatewayWsUrl);
    try {
      const malformed = await once(client, ACKNOWLEDGE_ENVELOPES, { g: ['not-a-guid'] });
      expect(malformed.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      const unknown = await once(client, SEND, {
        ...sendVariables(bob, randomBytes(8)),
        d: '6a1f40ab-0000-4000-8000-000000000000',
      });
      expect(unknown.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
      const refused = await once(anonymous, ACKNOWLEDGE_ENVELOPES, { g: [] });
      expect(refused.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    } finally {
      await client.dispose();
      await anonymous.dispose();
    }
  });

  it('closes a socket that reuses the id of a running operation with 4409', async () => {
    const socket = await openRawSocket(platform.gatewayWsUrl, alice.token);
    const subscribeFrame = JSON.stringify({
      id: 'same',
      type: 'subscribe',
      payload: { query: ENVELOPES_SUBSCRIPTION },
    });
    socket.ws.send(subscribeFrame);
    socket.ws.send(subscribeFrame);
    expect(await socket.closed).toBe(4409);
  });

  it('ends operations with INTERNAL when the subgraph cannot be reached', async () => {
    const unused = createServer();
    await new Promise<void>((resolve) => unused.listen(0, '127.0.0.1', resolve));
    const { port } = unused.address() as { port: number };
    await new Promise((resolve) => unused.close(resolve));
    const gateway = await platform.startGateway(`http://127.0.0.1:${port}/graphql`);
    const client = createWsClient(gateway.wsUrl, { token: alice.token });
    try {
      const answer = await once(client, ACKNOWLEDGE_ENVELOPES, { g: [] }).catch(
        (errors: unknown) => ({ errors }) as GraphQLResponse,
      );
      expect(answer.errors?.[0]?.extensions?.['code']).toBe('INTERNAL');
    } finally {
      await client.dispose();
    }
  });

  it('cuts off a client that stops reading once 8 MiB wait for it', async () => {
    const dave = await registerTestAccount(platform, '+14155557304');
    const gateway = await platform.startGateway(platform.subgraphs.messages.url);
    const metric = (name: string) => gatewayMetric(platform, name, undefined, gateway.url);
    const content = randomBytes(96 * 1024);
    // Each event carries the content twice in base64 (content and protobuf): ~256 KiB a frame,
    // three times the limit and more than the kernel's socket buffers hold.
    const count = Math.ceil((3 * MAX_CLIENT_BUFFERED_BYTES) / (256 * 1024));
    await platform.messages[0]!.outbox.enqueue(
      Array.from({ length: count }, () => ({
        destinationAci: dave.aci,
        destinationDeviceId: 1,
        fields: { type: signal.Envelope.Type.CIPHERTEXT, content },
      })),
      false,
    );
    const socket = await openRawSocket(gateway.wsUrl, dave.token);
    socket.ws.send(
      JSON.stringify({ id: 'e', type: 'subscribe', payload: { query: ENVELOPES_SUBSCRIPTION } }),
    );
    (socket.ws as unknown as { _socket: Socket })._socket.pause();
    try {
      await vi.waitFor(async () =>
        expect(await metric('courier_gateway_passthrough_operations_total')).toBe(1),
      );
      await vi.waitFor(
        async () => expect(await metric('courier_gateway_slow_clients_cut_off_total')).toBe(1),
        { timeout: 30_000, interval: 100 },
      );
      await vi.waitFor(async () =>
        expect(await metric('courier_gateway_subscriptions_open')).toBe(0),
      );
    } finally {
      socket.ws.terminate();
    }
  });

  it('closes with 1013 a client that floods operations while the subgraph socket connects', async () => {
    const silent: Socket[] = [];
    const blackHole: Server = createServer((socket) => silent.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blackHole.address() as { port: number };
      const gateway = await platform.startGateway(`http://127.0.0.1:${port}/graphql`);
      const socket = await openRawSocket(gateway.wsUrl, alice.token);
      for (let i = 0; i <= MAX_PENDING_FRAMES; i++) {
        socket.ws.send(
          JSON.stringify({
            id: String(i),
            type: 'subscribe',
            payload: { query: ACKNOWLEDGE_ENVELOPES, variables: { g: [] } },
          }),
        );
      }
      expect(await socket.closed).toBe(1013);
    } finally {
      for (const socket of silent) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  });
});
