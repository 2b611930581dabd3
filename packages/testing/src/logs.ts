import { appendFileSync } from 'node:fs';
import { createLogger, type Logger } from '@courier/logging';

/**
 * The logger of a test platform: silent unless `TEST_LOG_LEVEL` is set; with `TEST_LOG_FILE`
 * its JSON lines are appended to that file (the privacy test reads them).
 */
export function createTestLogger(): Logger {
  const level = process.env['TEST_LOG_LEVEL'] ?? 'silent';
  const file = process.env['TEST_LOG_FILE'];
  return createLogger({
    name: 'test',
    level,
    ...(file ? { destination: { write: (line: string) => appendFileSync(file, line) } } : {}),
  });
}

/** Appends a log line of a child process to `TEST_LOG_FILE` when it is set. */
export function captureChildLogLine(line: string): void {
  const file = process.env['TEST_LOG_FILE'];
  if (file) appendFileSync(file, `${line}\n`);
}
