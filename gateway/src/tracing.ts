import { tracingEnabled } from '@courier/config';
import type { GatewayConfigContext, GatewayPlugin } from '@graphql-hive/gateway';
import { redactingSpanExporter } from '@courier/logging';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { hiveLoggerFromPino, type PinoLikeLogger } from './logger.ts';

/** Builds the gateway's OpenTelemetry plugin, once {@link setUpGatewayTracing} ran. */
export type GatewayTracingPlugin = (context: GatewayConfigContext) => GatewayPlugin;

let setUp: Promise<GatewayTracingPlugin | undefined> | undefined;

/**
 * Sets up OpenTelemetry for the gateway when it is configured (see
 * {@link tracingEnabled}), once per process, and answers the plugin that traces requests,
 * operations and subgraph calls and propagates W3C `traceparent` to the subgraphs; without
 * configuration it loads nothing and answers undefined. Spans go over OTLP/HTTP to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` as service `OTEL_SERVICE_NAME` (default `courier-gateway`), without
 * client addresses, full URLs or GraphQL documents.
 */
export function setUpGatewayTracing(
  options: {
    /** @default process.env */
    readonly env?: NodeJS.ProcessEnv;
    /** Where the set-up is logged. @default Hive's console logger */
    readonly logger?: PinoLikeLogger | undefined;
    /** Where spans go instead of OTLP (tests). */
    readonly exporter?: SpanExporter;
  } = {},
): Promise<GatewayTracingPlugin | undefined> {
  const { env = process.env, logger, exporter } = options;
  if (!exporter && !tracingEnabled(env)) return Promise.resolve(undefined);
  setUp ??= (async () => {
    const [{ openTelemetrySetup }, { useOpenTelemetry }, { OTLPTraceExporter }, contextHooks] =
      await Promise.all([
        import('@graphql-hive/plugin-opentelemetry/setup'),
        import('@graphql-hive/plugin-opentelemetry'),
        import('@opentelemetry/exporter-trace-otlp-http'),
        import('@opentelemetry/context-async-hooks'),
      ]);
    openTelemetrySetup({
      contextManager: new contextHooks.AsyncLocalStorageContextManager(),
      resource: { serviceName: env['OTEL_SERVICE_NAME'] || 'courier-gateway' },
      traces: { exporter: redactingSpanExporter(exporter ?? new OTLPTraceExporter()) },
      ...(logger ? { log: hiveLoggerFromPino(logger) } : {}),
    });
    return (context) => useOpenTelemetry({ traces: true, log: context.log }) as GatewayPlugin;
  })();
  return setUp;
}
