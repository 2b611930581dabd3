import { tracingEnabled } from '@courier/config';
import { redactingSpanExporter } from '@courier/logging';
import type { tracing } from '@opentelemetry/sdk-node';

export { tracingEnabled };

type SpanExporter = tracing.SpanExporter;

/** A started OpenTelemetry SDK. */
export interface Tracing {
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}

/** Settings of {@link startTracing}. */
export interface TracingSettings {
  /** `service.name` of the spans (`OTEL_SERVICE_NAME` wins when set). */
  readonly serviceName: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Where spans go instead of OTLP over HTTP (tests). @default OTLP/HTTP to the env's endpoint */
  readonly exporter?: SpanExporter;
}

let started: Promise<Tracing | undefined> | undefined;

/**
 * Starts OpenTelemetry tracing for this process when it is configured (see
 * {@link tracingEnabled}), else does nothing and loads nothing: the SDK, the exporter and the
 * instrumentations are imported only here, lazily. Spans: incoming and outgoing HTTP (W3C
 * `traceparent` extracted from the gateway's requests, so subgraph spans join the gateway's
 * trace), Express routes, GraphQL parse/validate/execute, and Prisma queries. Exported with
 * OTLP over HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (the standard `OTEL_*` variables apply).
 *
 * Module patching (http, express) must happen before those modules are loaded: start it from
 * the preload `@courier/server/tracing-preload` (`tsx --import @courier/server/tracing-preload`),
 * which also registers the ESM loader hook. Once started, later calls answer the same SDK.
 */
export function startTracing(settings: TracingSettings): Promise<Tracing | undefined> {
  if (!settings.exporter && !tracingEnabled(settings.env)) return Promise.resolve(undefined);
  started ??= start(settings);
  return started;
}

/** Whether {@link startTracing} was called in this process (e.g. by the preload). */
export function tracingStarted(): boolean {
  return started !== undefined;
}

/** Stops the SDK started by {@link startTracing}, flushing its spans; a no-op when none runs. */
export async function shutdownTracing(): Promise<void> {
  const tracing = await started;
  started = undefined;
  await tracing?.shutdown();
}

async function start(settings: TracingSettings): Promise<Tracing | undefined> {
  const env = settings.env ?? process.env;
  const [
    { NodeSDK },
    { OTLPTraceExporter },
    { HttpInstrumentation },
    { ExpressInstrumentation },
    { GraphQLInstrumentation },
    { PrismaInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-graphql'),
    import('@prisma/instrumentation'),
  ]);
  const sdk = new NodeSDK({
    serviceName: env['OTEL_SERVICE_NAME'] || settings.serviceName,
    traceExporter: redactingSpanExporter(settings.exporter ?? new OTLPTraceExporter()),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) =>
          ['/health', '/readiness', '/metrics'].includes(request.url?.split('?')[0] ?? ''),
      }),
      new ExpressInstrumentation(),
      new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true }),
      new PrismaInstrumentation(),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
