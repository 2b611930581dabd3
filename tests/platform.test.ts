import { signal } from '@courier/proto';
import {
  createWsClient,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  subscribe,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('the federated platform', () => {
  let platform: Platform;
  let alice: TestAccount;

  beforeAll(async () => {
    platform = await startPlatform({ messagesInstances: 2 });
    alice = await registerTestAccount(platform, '+14155550101');
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('answers { __typename } through the gateway', async () => {
    const { status, body } = await postGraphQL(platform.gatewayUrl, '{ __typename }');
    expect(status).toBe(200);
    expect(body).toEqual({ data: { __typename: 'Query' } });
  });

  it('joins accounts and keys fields of the Account entity in one query', async () => {
    const { body } = await postGraphQL<{
      me: { aci: string; pni: string; number: string; identityKey: string | null };
    }>(platform.gatewayUrl, '{ me { aci pni number identityKey } }', { token: alice.token });
    expect(body.errors).toBeUndefined();
    expect(body.data?.me).toEqual({
      aci: alice.aci,
      pni: alice.pni,
      number: alice.number,
      identityKey: Buffer.from(alice.aciIdentity.identityKey).toString('base64'),
    });
  });

  it('refuses an unauthenticated and a forged token with UNAUTHENTICATED', async () => {
    const anonymous = await postGraphQL(platform.gatewayUrl, '{ me { aci } }');
    expect(anonymous.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const forged = await postGraphQL(platform.gatewayUrl, '{ me { aci } }', {
      token: `${alice.token.slice(0, -4)}AAAA`,
    });
    expect(forged.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(forged.body.data ?? null).toBeNull();
  });

  it('delivers an envelope published by a second messages instance to a subscription on the first', async () => {
    const client = createWsClient(platform.gatewayWsUrl, { token: alice.token });
    const events = subscribe<{
      envelopes:
        | { __typename: 'QueueEmpty'; empty: boolean }
        | {
            __typename: 'Envelope';
            guid: string;
            content: string;
            clientTimestamp: number;
            type: string;
          };
    }>(
      client,
      `subscription { envelopes { __typename
         ... on QueueEmpty { empty }
         ... on Envelope { guid content clientTimestamp type } } }`,
    );
    try {
      const first = await events.next();
      expect(first.value?.data?.envelopes).toEqual({ __typename: 'QueueEmpty', empty: true });

      const content = new Uint8Array([1, 2, 3, 250, 251, 252]);
      const second = platform.messages[1]!;
      expect(second.url).not.toBe(platform.subgraphs.messages.url);
      await second.outbox.enqueue(
        [
          {
            destinationAci: alice.aci,
            destinationDeviceId: 1,
            fields: {
              type: signal.Envelope.Type.CIPHERTEXT,
              destinationServiceId: alice.aci,
              clientTimestamp: 1_764_000_000_000,
              content,
            },
          },
        ],
        false,
      );

      const next = await events.next();
      expect(next.value?.errors).toBeUndefined();
      expect(next.value?.data?.envelopes).toEqual({
        __typename: 'Envelope',
        guid: expect.any(String),
        content: Buffer.from(content).toString('base64'),
        clientTimestamp: 1_764_000_000_000,
        type: 'CIPHERTEXT',
      });
    } finally {
      await events.return?.();
      await client.dispose();
    }
  });

  it('refuses requests sent straight to a subgraph without the router secret', async () => {
    for (const server of Object.values(platform.subgraphs)) {
      const missing = await postGraphQL(server.url, '{ __typename }');
      expect(missing.status).toBe(401);
      expect(missing.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
      const wrong = await postGraphQL(server.url, '{ __typename }', {
        headers: { 'x-router-secret': 'not-the-secret' },
      });
      expect(wrong.status).toBe(401);
    }
    const allowed = await postGraphQL(platform.subgraphs.accounts.url, '{ __typename }', {
      headers: { 'x-router-secret': platform.routerSecret },
    });
    expect(allowed.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a graphql-ws connection straight to a subgraph without the router secret', async () => {
    const socket = new WebSocket(
      platform.subgraphs.messages.url.replace('http', 'ws'),
      'graphql-transport-ws',
    );
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('open', () =>
      socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: { authorization: `Bearer ${alice.token}` },
        }),
      ),
    );
    expect(await closed).toBe(4401);
  });
});
