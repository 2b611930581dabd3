import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import {
  defineConfig,
  type GatewayCLIConfig,
  type GatewayConfigSupergraph,
} from '@graphql-hive/gateway';
import { corsOption, useVaryOrigin } from './cors.ts';
import { createMaskError, INTERNAL_MESSAGE, useValidationErrorCode } from './errors.ts';
import { operationLimitPlugins, useRequestSizeLimit } from './limits.ts';
import { createGatewayMetrics, gatewayMetricsPlugins, type GatewayMetrics } from './metrics.ts';
import { hiveLoggerFromPino } from './logger.ts';
import {
  resolveGatewayOptions,
  type GatewayOptions,
  type ResolvedGatewayOptions,
} from './options.ts';
import { propagateHeaders, transportEntries } from './propagation.ts';
import { HEALTHCHECK_ENDPOINT, READINESS_ENDPOINT, useSubgraphReadiness } from './readiness.ts';
import { subgraphLocations } from './subgraphs.ts';
import type { GatewayTracingPlugin } from './tracing.ts';

/** Path of the GraphQL endpoint, for HTTP, SSE and graphql-ws alike. */
export const GRAPHQL_ENDPOINT = '/graphql';

/**
 * The Hive Gateway runtime configuration for resolved options: the single description of the
 * router (subgraph locations, router secret and authorization propagation, subscriptions over
 * graphql-ws, CORS, limits, error masking, probes), used by `gateway.config.ts` (the
 * `hive-gateway` CLI) and by {@link createGateway} alike.
 */
export function createRuntimeConfig(
  options: ResolvedGatewayOptions,
  tracing?: GatewayTracingPlugin,
  metrics: GatewayMetrics = createGatewayMetrics(),
): GatewayConfigSupergraph {
  const { production, routerSecret } = options;
  const locations = subgraphLocations(options.supergraphSdl, options.subgraphUrls);
  return {
    supergraph: options.supergraphSdl,
    transportEntries: transportEntries(locations, routerSecret),
    propagateHeaders,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    healthCheckEndpoint: HEALTHCHECK_ENDPOINT,
    readinessCheckEndpoint: READINESS_ENDPOINT,
    cors: corsOption(options.allowedOrigins),
    graphiql: !production,
    landingPage: !production,
    disableIntrospection: production ? {} : undefined,
    batching: false,
    maskedErrors: {
      maskError: createMaskError(production),
      errorMessage: INTERNAL_MESSAGE,
      isDev: !production,
    },
    subgraphErrors: production ? { subgraphNameProp: false } : undefined,
    executionCancellation: true,
    logging: options.logger ? hiveLoggerFromPino(options.logger) : undefined,
    plugins: (context) => [
      ...(tracing ? [tracing(context)] : []),
      useRequestSizeLimit(options.maxRequestBytes),
      useValidationErrorCode(),
      ...operationLimitPlugins(options),
      ...(production ? [blockFieldSuggestionsPlugin()] : []),
      useVaryOrigin(),
      useSubgraphReadiness({ locations, routerSecret, timeoutMs: options.readinessTimeoutMs }),
      ...gatewayMetricsPlugins(
        { routerSecret, metricsToken: options.metricsToken },
        context,
        options.extraMetrics,
        metrics,
      ),
    ],
  };
}

/**
 * The configuration for the `hive-gateway` CLI (`gatewayConfig` of `gateway.config.ts`): the
 * runtime configuration plus where to listen and the TLS files. The CLI cannot set a minimum TLS
 * version; `gateway.config.ts` raises Node's default to TLS 1.3 when TLS is on.
 */
export function createGatewayConfig(
  options: GatewayOptions,
  tracing?: GatewayTracingPlugin,
): GatewayCLIConfig {
  const resolved = resolveGatewayOptions(options);
  return defineConfig({
    ...createRuntimeConfig(resolved, tracing),
    host: resolved.host,
    port: resolved.port,
    sslCredentials: resolved.tls
      ? { cert_file_name: resolved.tls.certFile, key_file_name: resolved.tls.keyFile }
      : undefined,
  });
}
