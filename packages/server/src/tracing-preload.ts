/**
 * Preload for OpenTelemetry (`tsx --import @courier/server/tracing-preload src/index.ts`): when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set, registers OpenTelemetry's ESM loader hook and starts
 * tracing before the application's modules load, so that http and express are instrumented.
 * Without the variable it does nothing.
 *
 * @packageDocumentation
 */
import { register } from 'node:module';
import { startTracing, tracingEnabled } from './tracing.ts';

/** `courier-<subgraph>` for `subgraphs/<subgraph>/src/index.ts`, else `courier`. */
function serviceName(): string {
  const entry = /subgraphs\/([a-z-]+)\/src\/index\.ts$/.exec(process.argv[1] ?? '');
  return entry ? `courier-${entry[1]}` : 'courier';
}

if (tracingEnabled()) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  await startTracing({ serviceName: serviceName() });
}
