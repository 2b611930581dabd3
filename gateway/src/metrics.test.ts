import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { gatewayOptionsFromEnv, loadGatewayEnv } from './env.ts';
import { gatewayOperationLabel as operationLabel, metricsRequestAuthorized } from './metrics.ts';
import { tracingEnabled } from '@courier/config';
import { setUpGatewayTracing } from './tracing.ts';

const ROUTER_SECRET = 'r'.repeat(40);
const METRICS_TOKEN = 'm'.repeat(40);

describe('gateway metrics', () => {
  it('labels operations by root fields, not by the operation name the client chose', () => {
    const document = parse(
      'query A_14155550123 { me { aci } } mutation B { x: sendMessage { y } acknowledgeEnvelopes }',
    );
    expect(operationLabel(document, 'A_14155550123')).toBe('me');
    expect(operationLabel(document, 'B')).toBe('acknowledgeEnvelopes+sendMessage');
    expect(operationLabel(document, 'Missing')).toBe('unknown');
    expect(operationLabel(document)).toBe('unknown');
    expect(operationLabel(undefined)).toBe('unknown');
  });

  it('opens /metrics to the metrics token or the router secret only', () => {
    const access = { routerSecret: ROUTER_SECRET, metricsToken: METRICS_TOKEN };
    const headers = (init: Record<string, string>) => new Headers(init);
    expect(
      metricsRequestAuthorized(access, headers({ authorization: `Bearer ${METRICS_TOKEN}` })),
    ).toBe(true);
    expect(metricsRequestAuthorized(access, headers({ 'x-router-secret': ROUTER_SECRET }))).toBe(
      true,
    );
    expect(metricsRequestAuthorized(access, headers({}))).toBe(false);
    expect(
      metricsRequestAuthorized(access, headers({ authorization: `Bearer ${ROUTER_SECRET}` })),
    ).toBe(false);
    expect(
      metricsRequestAuthorized(
        { routerSecret: ROUTER_SECRET, metricsToken: undefined },
        headers({ authorization: 'Bearer ' }),
      ),
    ).toBe(false);
  });
});

describe('METRICS_TOKEN', () => {
  it('is optional, empty means unset, and a set token has at least 32 characters', () => {
    const options = (token?: string) =>
      gatewayOptionsFromEnv(
        loadGatewayEnv({
          ROUTER_SECRET,
          ...(token === undefined ? {} : { METRICS_TOKEN: token }),
        }),
      );
    expect(options().metricsToken).toBeUndefined();
    expect(options('').metricsToken).toBeUndefined();
    expect(options(METRICS_TOKEN).metricsToken).toBe(METRICS_TOKEN);
    expect(() => options('short')).toThrow(/METRICS_TOKEN/);
  });
});

describe('gateway tracing', () => {
  it('loads nothing without an OTLP endpoint', async () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(await setUpGatewayTracing({ env: {} })).toBeUndefined();
    expect(
      (globalThis as Record<symbol, unknown>)[Symbol.for('opentelemetry.js.api.1')],
    ).toBeUndefined();
  });
});
