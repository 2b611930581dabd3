import { describe, expect, it } from 'vitest';
import { redactingExporter, startTracing, tracingEnabled, tracingStarted } from './tracing.ts';

const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

describe('tracing', () => {
  it('is configured only by an OTLP endpoint, unless the SDK is disabled', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(
      true,
    );
    expect(
      tracingEnabled({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_SDK_DISABLED: 'true',
      }),
    ).toBe(false);
  });

  it('does nothing and registers nothing without an endpoint', async () => {
    expect(await startTracing({ serviceName: 'courier-test', env: {} })).toBeUndefined();
    expect(tracingStarted()).toBe(false);
    expect((globalThis as Record<symbol, unknown>)[API_GLOBAL]).toBeUndefined();
  });

  it('drops sensitive attributes before spans are exported', () => {
    const exported: Record<string, unknown>[] = [];
    const exporter = redactingExporter({
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
