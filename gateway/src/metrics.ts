import { createHash, timingSafeEqual } from 'node:crypto';
import {
  createCounter,
  createHistogram,
  usePrometheus,
  type GatewayConfigContext,
  type GatewayPlugin,
} from '@graphql-hive/gateway';
import { errorCodeLabel, operationLabel } from '@courier/schema';
import { getOperationAST, type DocumentNode } from 'graphql';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { MetricsSource } from './options.ts';

/** Path of the Prometheus scrape endpoint. */
export const METRICS_ENDPOINT = '/metrics';

/** Upper bounds (seconds) of the duration histograms (as the subgraphs'). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The `operation` label of a request at the gateway: {@link operationLabel} (the subgraphs' rule)
 * of the operation the document selects, `unknown` without one.
 */
export function gatewayOperationLabel(
  document: DocumentNode | undefined,
  operationName?: string | null,
): string {
  return document ? operationLabel(getOperationAST(document, operationName), document) : 'unknown';
}

function errorLabel(error: unknown): string {
  return errorCodeLabel(
    (error as { extensions?: { code?: unknown } } | undefined)?.extensions?.code,
  );
}

function secretMatches(expected: string, presented: string | null | undefined): boolean {
  if (!presented) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

/** Who may scrape the gateway's `/metrics`. */
export interface GatewayMetricsAccess {
  /** Accepted in the `x-router-secret` header. */
  readonly routerSecret: string;
  /** Accepted as `Authorization: Bearer <token>` (`METRICS_TOKEN`). */
  readonly metricsToken: string | undefined;
}

/** Whether a request's headers open `/metrics`. */
export function metricsRequestAuthorized(access: GatewayMetricsAccess, headers: Headers): boolean {
  const authorization = headers.get('authorization');
  if (access.metricsToken && authorization?.startsWith('Bearer ')) {
    if (secretMatches(access.metricsToken, authorization.slice('Bearer '.length).trim())) {
      return true;
    }
  }
  return secretMatches(access.routerSecret, headers.get('x-router-secret'));
}

/**
 * The gateway's Prometheus plugins, on a registry of their own (Hive's plugin clears its registry
 * when the gateway is disposed, and a process may run several gateways): Hive Gateway's
 * `usePrometheus` with operation metrics relabelled to {@link operationLabel} (no client operation
 * names, no request URLs), subgraph call durations and errors, open subscriptions, process
 * metrics (unless `extraMetrics`, served after the gateway's own, bring them), and `/metrics`
 * behind {@link metricsRequestAuthorized}.
 */
export function gatewayMetricsPlugins(
  access: GatewayMetricsAccess,
  context: GatewayConfigContext,
  extraMetrics: readonly MetricsSource[] = [],
): GatewayPlugin[] {
  const registry = new Registry();
  if (extraMetrics.length === 0) collectDefaultMetrics({ register: registry });
  const operationLabels = ['operationType', 'operation'];
  // Field names of a document that failed validation are the client's words, not the schema's.
  const validated = new WeakSet<DocumentNode>();
  const fillOperation = (params: {
    document?: DocumentNode | undefined;
    operationName?: string | undefined;
    operationType?: string | undefined;
  }) => ({
    operationType: params.operationType ?? 'unknown',
    operation:
      params.document && validated.has(params.document)
        ? gatewayOperationLabel(params.document, params.operationName)
        : 'invalid',
  });
  const subscriptionsOpen = new Gauge({
    name: 'courier_gateway_subscriptions_open',
    help: 'GraphQL subscriptions currently open through this gateway (graphql-ws and SSE)',
    registers: [registry],
  });
  return [
    {
      onValidate({ params }) {
        return ({ valid }) => {
          if (valid) validated.add(params.documentAST);
        };
      },
    },
    usePrometheus({
      log: context.log,
      registry,
      endpoint: false,
      labels: { operationName: false, path: false },
      metrics: {
        graphql_envelop_request: createCounter({
          registry,
          counter: {
            name: 'graphql_envelop_request',
            help: 'GraphQL operations executed, by operation type and root fields',
            labelNames: operationLabels,
          },
          fillLabelsFn: fillOperation,
        }),
        graphql_envelop_request_duration: createHistogram({
          registry,
          histogram: {
            name: 'graphql_envelop_request_duration',
            help: 'Duration of GraphQL operations, by operation type and root fields',
            labelNames: operationLabels,
            buckets: DURATION_BUCKETS,
          },
          fillLabelsFn: fillOperation,
        }),
        graphql_envelop_error_result: createCounter({
          registry,
          counter: {
            name: 'graphql_envelop_error_result',
            help: 'Errors in GraphQL results, by operation type, root fields, phase and code',
            labelNames: [...operationLabels, 'phase', 'code'],
          },
          fillLabelsFn: (params) => ({
            ...fillOperation(params),
            phase: params.errorPhase ?? 'unknown',
            code: errorLabel(params.error),
          }),
        }),
        graphql_envelop_request_time_summary: false,
        graphql_envelop_deprecated_field: false,
        graphql_envelop_execute_resolver: false,
        graphql_yoga_http_duration: createHistogram({
          registry,
          histogram: {
            name: 'graphql_yoga_http_duration',
            help: 'Duration of HTTP GraphQL requests, by method, status and operation',
            labelNames: ['method', 'statusCode', ...operationLabels],
            buckets: DURATION_BUCKETS,
          },
          fillLabelsFn: (params) => ({
            ...fillOperation(params),
            method: params.request.method,
            statusCode: params.response.status,
          }),
        }),
        graphql_gateway_fetch_duration: false,
        graphql_gateway_subgraph_execute_duration: createHistogram({
          registry,
          histogram: {
            name: 'graphql_gateway_subgraph_execute_duration',
            help: 'Duration of subgraph calls, by subgraph, operation type and root fields',
            labelNames: ['subgraphName', ...operationLabels],
            buckets: DURATION_BUCKETS,
          },
          fillLabelsFn: ({ subgraphName, executionRequest }) => ({
            subgraphName,
            operationType: executionRequest.operationType ?? 'query',
            operation: gatewayOperationLabel(
              executionRequest.document,
              executionRequest.operationName,
            ),
          }),
        }),
        graphql_gateway_subgraph_execute_errors: createCounter({
          registry,
          counter: {
            name: 'graphql_gateway_subgraph_execute_errors',
            help: 'Errors in subgraph results, by subgraph, operation type and root fields',
            labelNames: ['subgraphName', ...operationLabels],
          },
          fillLabelsFn: ({ subgraphName, executionRequest }) => ({
            subgraphName,
            operationType: executionRequest.operationType ?? 'query',
            operation: gatewayOperationLabel(
              executionRequest.document,
              executionRequest.operationName,
            ),
          }),
        }),
      },
    }),
    {
      onSubscribe() {
        return {
          onSubscribeResult({ result }) {
            if (!result || typeof result !== 'object' || !(Symbol.asyncIterator in result)) return;
            subscriptionsOpen.inc();
            let ended = false;
            return {
              onEnd() {
                if (ended) return;
                ended = true;
                subscriptionsOpen.dec();
              },
            };
          },
        };
      },
    },
    {
      async onRequest({ request, url, endResponse, fetchAPI }) {
        if (url.pathname !== METRICS_ENDPOINT) return;
        if (!metricsRequestAuthorized(access, request.headers)) {
          endResponse(
            new fetchAPI.Response(JSON.stringify({ error: 'unauthorized' }), {
              status: 401,
              headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' },
            }),
          );
          return;
        }
        const texts = await Promise.all([registry, ...extraMetrics].map((r) => r.metrics()));
        endResponse(
          new fetchAPI.Response(texts.join('\n'), {
            headers: { 'content-type': registry.contentType },
          }),
        );
      },
    },
  ];
}
