import { describe, expect, it } from 'vitest';
import { startTracing, tracingEnabled, tracingStarted } from './tracing.ts';

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
});
