/**
 * Writes one log record to stderr in the JSON shape of the native schema engine's tracing output
 * (`{ timestamp, level, fields: { message, ... }, target }`), which the Prisma CLI parses line by line.
 *
 * @param {'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE'} level
 * @param {string} message
 * @param {Record<string, unknown>} [fields]
 * @param {string} [target]
 */
export function log(level, message, fields = {}, target = 'schema_engine') {
  const record = {
    timestamp: new Date().toISOString(),
    level,
    fields: { message, ...fields },
    target,
  };
  process.stderr.write(`${JSON.stringify(record)}\n`);
}

/**
 * Logs an error the way the native engine reports a failed one-shot `cli` command: the CLI looks
 * for an `ERROR` record with target `schema_engine::logger` and reads `error_code` and `message`.
 *
 * @param {string} message
 * @param {string | undefined} errorCode
 */
export function logCommandError(message, errorCode) {
  log(
    'ERROR',
    message,
    { is_panic: false, ...(errorCode ? { error_code: errorCode } : {}) },
    'schema_engine::logger',
  );
}
