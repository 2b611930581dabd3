import {
  createCounter,
  createHistogram,
  usePrometheus,
  type GatewayConfigContext,
  type GatewayPlugin,
} from '@graphql-hive/gateway';
import { metricsAccessAllowed, type MetricsAccess } from '@courier/config';
import {
  DURATION_BUCKETS,
  errorCodeLabel,
  operationLabel,
  ROUTER_SECRET_HEADER,
} from '@courier/schema';
import { getOperationAST, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { MetricsSource } from './options.ts';

/** Path of the Prometheus scrape endpoint. */
export const METRICS_ENDPOINT = '/metrics';

const labels = new WeakMap<DocumentNode, WeakMap<OperationDefinitionNode, string>>();

/**
 * The `operation` label of a request at the gateway: {@link operationLabel} (the subgraphs' rule)
 * of the operation the document selects, `unknown` without one. Computed once per parsed
 * document and operation (documents come from Hive's parse and plan caches), as every request
 * fills several metrics.
 */
export function gatewayOperationLabel(
  document: DocumentNode | undefined,
  operationName?: string | null,
): string {
  const operation = document && getOperationAST(document, operationName);
  if (!document || !operation) return 'unknown';
  let byOperation = labels.get(document);
  if (!byOperation) labels.set(document, (byOperation = new WeakMap()));
  let label = byOperation.get(operation);
  if (label === undefined) {
    label = operationLabel(operation, document);
    byOperation.set(operation, label);
  }
  return label;
}

/**
 * The gateway's own metrics that both Hive's plugins and the graphql-ws passthrough lane feed
 * (the lane bypasses Hive, so Hive's plugins do not see its operations): created unregistered,
 * served from the gateway's registry by {@link gatewayMetricsPlugins}.
 */
export interface GatewayMetrics {
  readonly metrics: readonly Metric[];
  /** Subscriptions open through this gateway (Hive's and the lane's). */
  readonly subscriptionsOpen: Gauge;
  /** Client sockets the lane cut off because they stopped reading. */
  readonly slowClientsCutOff: Counter;
  /** Counts an operation the lane handed straight to its subgraph. */
  passedThrough(operation: {
    subgraph: string;
    operationType: string;
    document: DocumentNode;
  }): void;
}

/** Creates {@link GatewayMetrics}. */
export function createGatewayMetrics(): GatewayMetrics {
  const passthroughOperations = new Counter({
    name: 'courier_gateway_passthrough_operations_total',
    help: 'graphql-ws operations handed straight to the one subgraph that answers them',
    labelNames: ['subgraphName', 'operationType', 'operation'],
    registers: [],
  });
  const subscriptionsOpen = new Gauge({
    name: 'courier_gateway_subscriptions_open',
    help: 'GraphQL subscriptions currently open through this gateway (graphql-ws and SSE)',
    registers: [],
  });
  const slowClientsCutOff = new Counter({
    name: 'courier_gateway_slow_clients_cut_off_total',
    help: 'graphql-ws client sockets cut off because too much waited to be written to them',
    registers: [],
  });
  return {
    metrics: [passthroughOperations, subscriptionsOpen, slowClientsCutOff],
    subscriptionsOpen,
    slowClientsCutOff,
    passedThrough(operation) {
      passthroughOperations.inc({
        subgraphName: operation.subgraph,
        operationType: operation.operationType,
        operation: gatewayOperationLabel(operation.document),
      });
    },
  };
}

function errorLabel(error: unknown): string {
  return errorCodeLabel(
    (error as { extensions?: { code?: unknown } } | undefined)?.extensions?.code,
  );
}

/** The labels of a subgraph call: its subgraph, operation type and {@link gatewayOperationLabel}. */
function fillSubgraphOperation({
  subgraphName,
  executionRequest,
}: {
  subgraphName: string;
  executionRequest: { document: DocumentNode; operationName?: string; operationType?: string };
}) {
  return {
    subgraphName,
    operationType: executionRequest.operationType ?? 'query',
    operation: gatewayOperationLabel(executionRequest.document, executionRequest.operationName),
  };
}

/** Whether a request's headers open `/metrics` (the subgraphs' rule: see `metricsAccessAllowed`). */
export function metricsRequestAuthorized(access: MetricsAccess, headers: Headers): boolean {
  return metricsAccessAllowed(
    access,
    headers.get('authorization'),
    headers.get(ROUTER_SECRET_HEADER),
  );
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
  access: MetricsAccess,
  context: GatewayConfigContext,
  extraMetrics: readonly MetricsSource[],
  own: GatewayMetrics,
): GatewayPlugin[] {
  const registry = new Registry();
  for (const metric of own.metrics) registry.registerMetric(metric);
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
  const { subscriptionsOpen } = own;
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
          fillLabelsFn: fillSubgraphOperation,
        }),
        graphql_gateway_subgraph_execute_errors: createCounter({
          registry,
          counter: {
            name: 'graphql_gateway_subgraph_execute_errors',
            help: 'Errors in subgraph results, by subgraph, operation type and root fields',
            labelNames: ['subgraphName', ...operationLabels],
          },
          fillLabelsFn: fillSubgraphOperation,
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
