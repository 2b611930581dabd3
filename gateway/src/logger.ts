import { Logger, type LogLevel, type LogWriter } from '@graphql-hive/gateway';

type PinoLogFn = (attributes: object, message?: string) => void;

/** The part of a pino logger the gateway uses (`@courier/logging` loggers qualify). */
export interface PinoLikeLogger {
  /** pino level name: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. */
  level: string;
  trace: PinoLogFn;
  debug: PinoLogFn;
  info: PinoLogFn;
  warn: PinoLogFn;
  error: PinoLogFn;
}

const HIVE_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

function hiveLevel(pinoLevel: string): LogLevel | false {
  if (pinoLevel === 'fatal') return 'error';
  return HIVE_LEVELS.find((level) => level === pinoLevel) ?? false;
}

/**
 * Attributes of Hive Gateway's debug records that never reach a log, whatever the level:
 * GraphQL payloads (operation documents, which may hold literal arguments, variables and
 * results hold phone numbers, ciphertext, keys and ids) and whole socket objects (their
 * internals hold peer addresses).
 */
const GRAPHQL_PAYLOAD_ATTRIBUTES: readonly string[] = [
  'query',
  'document',
  'variables',
  'data',
  'result',
  'socket',
];

/** Hive Gateway log writer forwarding each record to a pino logger. */
class PinoWriter implements LogWriter {
  constructor(private readonly pino: PinoLikeLogger) {}

  write(level: LogLevel, attributes: unknown, message: string | null | undefined): void {
    const record: Record<string, unknown> =
      attributes !== null && typeof attributes === 'object' && !Array.isArray(attributes)
        ? { ...(attributes as Record<string, unknown>) }
        : attributes === null || attributes === undefined
          ? {}
          : { attributes };
    for (const key of GRAPHQL_PAYLOAD_ATTRIBUTES) {
      if (key in record) record[key] = '[Redacted]';
    }
    this.pino[level](record, message ?? undefined);
  }
}

/** A Hive Gateway logger writing through `pino`, following pino's level as it changes. */
export function hiveLoggerFromPino(pino: PinoLikeLogger): Logger {
  return new Logger({ level: () => hiveLevel(pino.level), writers: [new PinoWriter(pino)] });
}
