import { randomBytes } from 'node:crypto';
import {
  Inbox,
  acknowledgeEnvelopes,
  expectData,
  metricValue,
  parseScrape,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const SEND = `mutation ($d: String!, $i: SendMessageInput!) {
  sendMessage(destination: $d, input: $i) { __typename } }`;

describe('Prometheus metrics of the gateway and the subgraphs', () => {
  let platform: Platform;
  let alice: TestAccount;
  let bob: TestAccount;

  const metricsUrl = (graphqlUrl: string) => new URL('/metrics', graphqlUrl).toString();
  const scrapeText = async (graphqlUrl: string): Promise<string> => {
    const response = await fetch(metricsUrl(graphqlUrl), {
      headers: { 'x-router-secret': platform.routerSecret },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };
  const scrape = async (graphqlUrl: string) => parseScrape(await scrapeText(graphqlUrl));

  beforeAll(async () => {
    platform = await startPlatform();
    alice = await registerTestAccount(platform, '+14155557001');
    bob = await registerTestAccount(platform, '+14155557002');
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('refuses /metrics without credentials on the subgraphs and the gateway', async () => {
    for (const server of Object.values(platform.subgraphs)) {
      expect((await fetch(metricsUrl(server.url))).status).toBe(401);
      const wrong = await fetch(metricsUrl(server.url), {
        headers: { 'x-router-secret': 'x'.repeat(64), authorization: `Bearer ${alice.token}` },
      });
      expect(wrong.status).toBe(401);
    }
    expect((await fetch(metricsUrl(platform.gatewayUrl))).status).toBe(401);
    const withUserToken = await fetch(metricsUrl(platform.gatewayUrl), {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(withUserToken.status).toBe(401);
  });

  it('counts operations, envelopes, subscriptions and rate-limit refusals, with no user in labels', async () => {
    const messagesUrl = platform.subgraphs.messages.url;
    const before = {
      gateway: await scrape(platform.gatewayUrl),
      messages: await scrape(messagesUrl),
      accounts: await scrape(platform.subgraphs.accounts.url),
    };

    const inbox = new Inbox(platform.gatewayWsUrl, bob.token);
    try {
      await inbox.drain();
      const open = {
        gateway: await scrape(platform.gatewayUrl),
        messages: await scrape(messagesUrl),
      };
      expect(
        metricValue(open.gateway, 'courier_gateway_subscriptions_open'),
      ).toBeGreaterThanOrEqual(
        metricValue(before.gateway, 'courier_gateway_subscriptions_open') + 1,
      );
      expect(
        metricValue(open.messages, 'courier_subscriptions_open', { subgraph: 'messages' }),
      ).toBeGreaterThanOrEqual(
        metricValue(before.messages, 'courier_subscriptions_open', { subgraph: 'messages' }) + 1,
      );

      const sent = await postGraphQL<{ sendMessage: { __typename: string } }>(
        platform.gatewayUrl,
        SEND,
        {
          token: alice.token,
          variables: {
            d: bob.aci,
            i: {
              timestamp: Date.now(),
              messages: [
                {
                  deviceId: 1,
                  registrationId: bob.aciIdentity.registrationId,
                  type: 'CIPHERTEXT',
                  content: randomBytes(48).toString('base64'),
                },
              ],
            },
          },
        },
      );
      expect(expectData(sent, 'sendMessage').sendMessage.__typename).toBe('SendMessageSuccess');
      const [envelope] = await inbox.take(1);
      expect(await acknowledgeEnvelopes(platform.gatewayUrl, bob.token, [envelope!.guid])).toBe(1);
    } finally {
      await inbox.close();
    }

    // A client may name its operation after anyone: the name must not reach a label.
    const named = await postGraphQL(
      platform.gatewayUrl,
      'query Leak_14155557001_secret { senderCertificateTrustRoot }',
    );
    expect(named.body.errors).toBeUndefined();
    const invalid = await postGraphQL(platform.gatewayUrl, 'query { u14155557001 }');
    expect(invalid.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');

    // The number's code-request bucket holds three requests; the fourth session is refused.
    const number = '+14155557003';
    const codeRequests: (string | undefined)[] = [];
    for (let i = 0; i < 4; i += 1) {
      const session = expectData<{ createVerificationSession: { id: string } }>(
        await postGraphQL(
          platform.gatewayUrl,
          'mutation ($n: String!) { createVerificationSession(number: $n) { id } }',
          { variables: { n: number } },
        ),
        'createVerificationSession',
      ).createVerificationSession;
      const requested = await postGraphQL(
        platform.gatewayUrl,
        'mutation ($s: ID!) { requestVerificationCode(sessionId: $s, transport: SMS) { id } }',
        { variables: { s: session.id } },
      );
      codeRequests.push(requested.body.errors?.[0]?.extensions?.['code'] as string | undefined);
    }
    expect(codeRequests).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);

    const gatewayText = await scrapeText(platform.gatewayUrl);
    const messagesText = await scrapeText(messagesUrl);
    const accountsText = await scrapeText(platform.subgraphs.accounts.url);
    const after = {
      gateway: parseScrape(gatewayText),
      messages: parseScrape(messagesText),
      accounts: parseScrape(accountsText),
    };
    const delta = (which: keyof typeof after, name: string, labels: Record<string, string> = {}) =>
      metricValue(after[which], name, labels) - metricValue(before[which], name, labels);

    // Subgraph request metrics, per operation (root fields), with durations and error codes.
    const sendLabels = {
      subgraph: 'messages',
      operation_type: 'mutation',
      operation: 'sendMessage',
    };
    expect(delta('messages', 'courier_graphql_operations_total', sendLabels)).toBe(1);
    expect(delta('messages', 'courier_graphql_operation_duration_seconds_count', sendLabels)).toBe(
      1,
    );
    expect(
      delta('messages', 'courier_graphql_operations_total', {
        subgraph: 'messages',
        operation: 'acknowledgeEnvelopes',
      }),
    ).toBe(1);
    expect(
      delta('messages', 'courier_graphql_operations_total', {
        subgraph: 'messages',
        operation_type: 'subscription',
        operation: 'envelopes',
      }),
    ).toBe(1);
    expect(
      delta('accounts', 'courier_graphql_errors_total', {
        subgraph: 'accounts',
        operation: 'requestVerificationCode',
        code: 'RATE_LIMITED',
      }),
    ).toBe(1);
    expect(
      delta('accounts', 'courier_rate_limit_rejections_total', {
        bucket: 'verificationCodeRequest',
      }),
    ).toBe(1);

    // Envelopes: the message and, after the ack, a delivery receipt for Alice are queued.
    expect(
      delta('messages', 'courier_envelopes_total', { event: 'queued' }),
    ).toBeGreaterThanOrEqual(2);
    expect(delta('messages', 'courier_envelopes_total', { event: 'delivered' })).toBe(1);
    expect(delta('messages', 'courier_envelopes_total', { event: 'acked' })).toBe(1);

    // Pools and Redis of the process.
    expect(
      metricValue(after.messages, 'courier_db_pool_connections', { state: 'total' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(after.messages, 'courier_redis_clients', { status: 'ready' }),
    ).toBeGreaterThan(0);
    expect(metricValue(after.messages, 'courier_redis_commands_total')).toBeGreaterThan(0);
    expect(metricValue(after.messages, 'process_cpu_seconds_total')).toBeGreaterThan(0);

    // Gateway: operations per root field, their durations, and subgraph calls.
    const gatewaySend = { operationType: 'mutation', operation: 'sendMessage' };
    expect(delta('gateway', 'graphql_envelop_request', gatewaySend)).toBe(1);
    expect(delta('gateway', 'graphql_envelop_request_duration_count', gatewaySend)).toBe(1);
    expect(
      delta('gateway', 'graphql_gateway_subgraph_execute_duration_count', {
        subgraphName: 'messages',
        operation: 'sendMessage',
      }),
    ).toBe(1);
    expect(
      delta('gateway', 'graphql_envelop_error_result', {
        operation: 'requestVerificationCode',
        code: 'RATE_LIMITED',
      }),
    ).toBe(1);
    expect(
      delta('gateway', 'graphql_envelop_request', {
        operationType: 'query',
        operation: 'senderCertificateTrustRoot',
      }),
    ).toBe(1);

    // Nothing about a user, a device, a secret or a client-chosen name appears anywhere.
    const forbidden = [
      /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i,
      /\+?1415555\d{4}/,
      /Leak_/,
      /Bearer/,
    ];
    const secrets = [alice, bob].flatMap((account) => [
      account.aci,
      account.pni,
      account.number,
      account.token,
      account.password,
    ]);
    for (const text of [gatewayText, messagesText, accountsText]) {
      for (const pattern of forbidden) expect(text).not.toMatch(pattern);
      for (const secret of [...secrets, platform.routerSecret]) expect(text).not.toContain(secret);
    }

    // The closed subscription is no longer counted once the gateway and the subgraph let go.
    await vi.waitFor(
      async () => {
        const now = {
          gateway: await scrape(platform.gatewayUrl),
          messages: await scrape(messagesUrl),
        };
        expect(metricValue(now.gateway, 'courier_gateway_subscriptions_open')).toBe(
          metricValue(before.gateway, 'courier_gateway_subscriptions_open'),
        );
        expect(
          metricValue(now.messages, 'courier_subscriptions_open', { subgraph: 'messages' }),
        ).toBe(
          metricValue(before.messages, 'courier_subscriptions_open', { subgraph: 'messages' }),
        );
      },
      { timeout: 10_000, interval: 100 },
    );
  });
});
