import { parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  envelopeMetrics,
  errorCodeLabel,
  metricsAuthorized,
  metricsRegistry,
  operationLabel,
} from './metrics.ts';

const ROUTER_SECRET = 'r'.repeat(40);
const METRICS_TOKEN = 'm'.repeat(40);

function labelOf(source: string): string {
  const document = parse(source);
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === 'OperationDefinition',
  );
  return operationLabel(operation, document);
}

describe('operationLabel', () => {
  it('names operations by their root fields, never by the client-chosen name or aliases', () => {
    expect(labelOf('mutation Alice_14155550123 { sendMessage(x: 1) { a } }')).toBe('sendMessage');
    expect(labelOf('{ b: me { x } a: devices { y } }')).toBe('devices+me');
    expect(labelOf('{ me { x } me2: me { y } }')).toBe('me');
  });

  it('follows fragments and inline fragments on the root type', () => {
    expect(labelOf('query { ...F ... on Query { b } } fragment F on Query { a ...F }')).toBe('a+b');
  });

  it('caps the label at three root fields and answers unknown without an operation', () => {
    expect(labelOf('{ a b c d }')).toBe('multiple');
    expect(operationLabel(undefined)).toBe('unknown');
  });
});

describe('errorCodeLabel', () => {
  it('keeps plain codes and folds anything else into INTERNAL', () => {
    expect(errorCodeLabel('RATE_LIMITED')).toBe('RATE_LIMITED');
    expect(errorCodeLabel('+14155550123')).toBe('INTERNAL');
    expect(errorCodeLabel(undefined)).toBe('INTERNAL');
    expect(errorCodeLabel('a'.repeat(10))).toBe('INTERNAL');
  });
});

describe('metricsAuthorized', () => {
  const access = { routerSecret: ROUTER_SECRET, metricsToken: METRICS_TOKEN };

  it('opens /metrics to the metrics bearer token or the router secret only', () => {
    expect(metricsAuthorized(access, { authorization: `Bearer ${METRICS_TOKEN}` })).toBe(true);
    expect(metricsAuthorized(access, { 'x-router-secret': ROUTER_SECRET })).toBe(true);
    expect(metricsAuthorized(access, {})).toBe(false);
    expect(metricsAuthorized(access, { authorization: `Bearer ${ROUTER_SECRET}` })).toBe(false);
    expect(metricsAuthorized(access, { authorization: METRICS_TOKEN })).toBe(false);
    expect(metricsAuthorized(access, { 'x-router-secret': METRICS_TOKEN })).toBe(false);
  });

  it('accepts no bearer token when none is configured', () => {
    const routerOnly = { routerSecret: ROUTER_SECRET };
    expect(metricsAuthorized(routerOnly, { authorization: 'Bearer ' })).toBe(false);
    expect(metricsAuthorized(routerOnly, { authorization: 'Bearer undefined' })).toBe(false);
    expect(metricsAuthorized(routerOnly, { 'x-router-secret': ROUTER_SECRET })).toBe(true);
  });
});

describe('envelopeMetrics', () => {
  it('counts each event in courier_envelopes_total', async () => {
    const read = async (event: string) =>
      (await metricsRegistry.getSingleMetric('courier_envelopes_total')!.get()).values.find(
        (value) => value.labels['event'] === event,
      )?.value ?? 0;
    const before = await read('expired');
    envelopeMetrics.expired.inc(3);
    expect((await read('expired')) - before).toBe(3);
  });
});
