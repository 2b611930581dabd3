import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type DestinationStream, type LevelWithSilentOrString, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { REDACTED, REDACT_PATHS, scrub, scrubSerialized } from './redaction.ts';

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Component name, logged as `name` on every line. */
  readonly name: string;
  /**
   * Lowest level written: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.
   * @default 'info'
   */
  readonly level?: LevelWithSilentOrString;
  /**
   * Human-readable, colourised lines (pino-pretty, in process) instead of JSON; for development.
   * @default false
   */
  readonly pretty?: boolean;
  /**
   * Where lines go.
   * @default standard output
   */
  readonly destination?: DestinationStream;
}

/**
 * Creates a pino logger with redaction on. Sensitive fields ({@link REDACT_PATHS}: credentials,
 * tokens, message content, phone numbers, key material, IP addresses, cookies) are replaced by
 * `[Redacted]` at the top level and when nested, including in child-logger bindings; fields
 * named like `somethingKey`/`somethingToken` are scrubbed at any depth. Requests, responses and
 * errors go through pino's standard serializers (so a logged request shows its method, URL and
 * headers, with `authorization`, `cookie` and the remote address redacted).
 *
 * Redaction sees fields, not text: never interpolate a secret into the message string.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: {
      err: (error: Error) => scrubSerialized(pino.stdSerializers.err(error)),
      error: (error: Error) => scrubSerialized(pino.stdSerializers.err(error)),
      req: (request: IncomingMessage) => scrubSerialized(pino.stdSerializers.req(request)),
      res: (response: ServerResponse) => scrubSerialized(pino.stdSerializers.res(response)),
    },
    formatters: {
      log: (object) => scrub(object),
      bindings: (bindings) => scrub(bindings),
    },
  };
  if (options.pretty) {
    const prettify = pretty.prettyFactory({
      colorize: options.destination ? false : pretty.isColorSupported,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    const target = options.destination ?? pino.destination(1);
    return scrubChildBindings(
      pino(settings, { write: (line: string) => target.write(prettify(line)) }),
    );
  }
  return scrubChildBindings(
    options.destination ? pino(settings, options.destination) : pino(settings),
  );
}

/**
 * pino applies `formatters.bindings` to the root's bindings only, so `child()` is wrapped to scrub
 * the bindings of children (and, through the prototype chain, of their children).
 */
function scrubChildBindings(logger: Logger): Logger {
  const child = logger.child;
  logger.child = function (this: Logger, bindings: pino.Bindings, childOptions?: object) {
    return child.call(this, scrub(bindings), childOptions);
  } as Logger['child'];
  return logger;
}
