import { openSync, writeSync } from 'node:fs';
import { createLogger, type Logger } from '@courier/logging';

const appendDescriptors = new Map<string, number>();

/** Appends to `file` through one descriptor per file and process (opened once, append mode). */
function appendLine(file: string, line: string): void {
  let fd = appendDescriptors.get(file);
  if (fd === undefined) {
    fd = openSync(file, 'a');
    appendDescriptors.set(file, fd);
  }
  writeSync(fd, line);
}

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
    ...(file ? { destination: { write: (line: string) => appendLine(file, line) } } : {}),
  });
}

/** Appends a log line of a child process to `TEST_LOG_FILE` when it is set. */
export function captureChildLogLine(line: string): void {
  const file = process.env['TEST_LOG_FILE'];
  if (file) appendLine(file, `${line}\n`);
}
