import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureTemplateDatabase } from './database.ts';
import { testAdminDatabaseUrl } from './env.ts';
import { scanLogFile } from './log-scan.ts';

/** Where the privacy test writes plaintext it sent, one per line, for the log scan to look for. */
export function sentinelFileOf(logFile: string): string {
  return `${logFile}.sentinels`;
}

/**
 * Global setup of the end-to-end project: the template database, and the privacy proof over
 * the logs. Every platform and subgraph process of the run logs at `debug` into one file
 * (`TEST_LOG_FILE`, inherited by the test workers); when the run ends, the file is scanned for
 * phone numbers, access tokens, key/ciphertext bytes, IP addresses and the plaintext the privacy
 * test recorded, and the run fails with what was found (kinds and line numbers, not values).
 * `COURIER_LOG_SCAN=off` (or a `TEST_LOG_FILE` chosen by the caller) leaves logging alone.
 */
export default async function setup(): Promise<() => void> {
  await ensureTemplateDatabase(testAdminDatabaseUrl());
  if (process.env['COURIER_LOG_SCAN'] === 'off' || process.env['TEST_LOG_FILE']) {
    return () => undefined;
  }
  const file = path.join(tmpdir(), `courier-e2e-logs-${process.pid}-${Date.now()}.jsonl`);
  writeFileSync(file, '');
  process.env['TEST_LOG_FILE'] = file;
  process.env['TEST_LOG_LEVEL'] ??= 'debug';
  return () => {
    const sentinelFile = sentinelFileOf(file);
    const sentinels = existsSync(sentinelFile)
      ? readFileSync(sentinelFile, 'utf8').split('\n').filter(Boolean)
      : [];
    const findings = scanLogFile(file, sentinels);
    if (findings.length > 0) {
      const summary = findings
        .slice(0, 20)
        .map((finding) => `line ${finding.line}: ${finding.kind}`)
        .join('\n');
      // Vitest reports an error thrown here but still exits 0, so the exit code is set too.
      process.exitCode = 1;
      throw new Error(
        `Privacy: the logs of this run hold what they must not (${findings.length} findings; ` +
          `log kept at ${file}):\n${summary}`,
      );
    }
    rmSync(file, { force: true });
    rmSync(sentinelFile, { force: true });
  };
}
