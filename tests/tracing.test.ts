import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SENSITIVE_SPAN_ATTRIBUTES } from '@courier/logging';
import {
  createWsClient,
  expectData,
  postGraphQL,
  registerTestAccount,
  spawnSubgraphProcess,
  startPlatform,
  type Platform,
  type SubgraphProcess,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** A span as an OTLP/HTTP JSON export carries it, with its resource's service name. */
interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

/** An in-process OTLP/HTTP (JSON) trace receiver: what a collector would get. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; server: Server }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find(
            (attribute) => attribute.key === 'service.name',
          )?.value['stringValue'];
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                service: String(service),
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? '',
                name: span.name,
                attributes: Object.fromEntries(
                  (span.attributes ?? []).map((attribute) => [
                    attribute.key,
                    Object.values(attribute.value)[0],
                  ]),
                ),
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, server };
}

describe('OpenTelemetry traces across gateway, subgraph and Prisma', () => {
  let platform: Platform;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let messages: SubgraphProcess | undefined;
  let bob: TestAccount;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    platform = await startPlatform();
    bob = await registerTestAccount(platform, '+14155557101');
    receiver = await startReceiver();
    const otelEnv = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    };
    messages = await spawnSubgraphProcess(
      'messages',
      { ...platform.processEnv(), ...otelEnv },
      { preload: ['@courier/server/tracing-preload'] },
    );
    // The gateways of startPlatform ran without tracing; this one starts with it configured.
    Object.assign(process.env, otelEnv);
  });
  afterAll(async () => {
    await messages?.stop();
    await platform?.stop();
    receiver?.server.close();
    for (const key of Object.keys(process.env)) {
      if (!(key in savedEnv)) delete process.env[key];
    }
  });

  it('joins the gateway, the messages process and its Prisma queries in one trace', async () => {
    const gateway = await platform.startGateway(messages!.url);
    const polled = await postGraphQL<{ envelopes: { more: boolean } }>(
      gateway.url,
      'query { envelopes(limit: 10, waitSeconds: 0) { more } }',
      { token: bob.token },
    );
    expect(expectData(polled, 'envelopes').envelopes.more).toBe(false);

    // Every span of one request's trace: the gateway's, then the messages process's server span
    // as a child of the gateway's subgraph fetch (W3C traceparent), then GraphQL and Prisma.
    await vi.waitFor(
      () => {
        const prisma = receiver.spans.find(
          (span) => span.service === 'courier-messages' && span.name.startsWith('prisma:'),
        );
        expect(prisma).toBeDefined();
        const trace = receiver.spans.filter((span) => span.traceId === prisma!.traceId);
        const ids = (service: string) =>
          new Set(trace.filter((span) => span.service === service).map((span) => span.spanId));
        const [gatewayIds, messagesIds] = [ids('courier-gateway'), ids('courier-messages')];
        const entry = trace.find(
          (span) => span.service === 'courier-messages' && !messagesIds.has(span.parentSpanId),
        );
        expect(entry?.name).toBe('POST /graphql');
        expect(gatewayIds.has(entry!.parentSpanId)).toBe(true);
        const names = trace.map((span) => `${span.service} ${span.name}`);
        expect(names).toEqual(
          expect.arrayContaining([
            'courier-gateway POST /graphql',
            'courier-gateway subgraph.execute (messages)',
            'courier-messages graphql.resolve envelopes',
            'courier-messages prisma:client:operation',
          ]),
        );
      },
      { timeout: 20_000, interval: 100 },
    );

    // graphql-ws operations of the lane run compiled (graphql-jit), and still leave a span.
    const client = createWsClient(gateway.wsUrl, { token: bob.token });
    try {
      const acknowledged = await new Promise<unknown>((resolve, reject) => {
        let answer: unknown;
        client.subscribe(
          { query: 'mutation { acknowledgeEnvelopes(guids: []) }' },
          { next: (result) => (answer = result), error: reject, complete: () => resolve(answer) },
        );
      });
      expect(acknowledged).toEqual({ data: { acknowledgeEnvelopes: 0 } });
    } finally {
      await client.dispose();
    }
    await vi.waitFor(
      () =>
        expect(
          receiver.spans.find(
            (span) =>
              span.service === 'courier-messages' &&
              span.name === 'graphql.execute' &&
              span.attributes['courier.graphql.root_fields'] === 'acknowledgeEnvelopes',
          )?.attributes['graphql.operation.type'],
        ).toBe('mutation'),
      { timeout: 20_000, interval: 100 },
    );

    // Nothing sensitive leaves in a span.
    for (const span of receiver.spans) {
      for (const key of Object.keys(span.attributes)) {
        expect(SENSITIVE_SPAN_ATTRIBUTES.has(key), `${span.name}: ${key}`).toBe(false);
      }
      const text = JSON.stringify(span.attributes);
      for (const secret of [bob.aci, bob.pni, bob.number, bob.token, platform.routerSecret]) {
        expect(text).not.toContain(secret);
      }
    }
  });
});
