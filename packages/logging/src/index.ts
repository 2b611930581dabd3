export { createLogger, type CreateLoggerOptions } from './logger.ts';
export {
  REDACTED,
  REDACT_PATHS,
  SENSITIVE_KEYS,
  SENSITIVE_SPAN_ATTRIBUTES,
  dropSensitiveSpanAttributes,
  redactingSpanExporter,
  type SpanExporterLike,
  SENSITIVE_KEY_PATTERN,
  isSensitiveKey,
  scrub,
  scrubSerialized,
  withoutAddresses,
} from './redaction.ts';
export type { DestinationStream, LevelWithSilentOrString, Logger } from 'pino';
