/**
 * Canonical standard base64 (RFC 4648 §4, padded, no whitespace): what the graph's `Base64`
 * scalar, sealed secrets and key settings accept. The empty string matches; callers that need
 * bytes check the length themselves.
 */
export const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Whether OpenTelemetry tracing is configured: `OTEL_EXPORTER_OTLP_ENDPOINT` (or the
 * traces-only `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and `OTEL_SDK_DISABLED` is not
 * `true`. The one rule for the gateway and the subgraphs.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['OTEL_SDK_DISABLED']?.toLowerCase() === 'true') return false;
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
}
