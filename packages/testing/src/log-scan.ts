import { readFileSync } from 'node:fs';

/** One kind of secret a log must never hold, and how to recognise it in a log line. */
interface Detector {
  readonly kind: string;
  readonly pattern: RegExp;
}

const DETECTORS: readonly Detector[] = [
  { kind: 'phone number', pattern: /\+\d{7,15}\b/ },
  { kind: 'access token (JWT)', pattern: /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/ },
  // Keys, ciphertext, content and other bytes travel as base64: 32+ bytes is 43+ characters.
  { kind: 'base64 bytes (key, ciphertext or content)', pattern: /[A-Za-z0-9+/_-]{43,}={0,2}/ },
  { kind: 'IPv4 address', pattern: /\b(?:\d{1,3}\.){3}\d{1,3}\b/ },
  // Full form, or compressed (`::`); times such as 01:23:59 are neither.
  {
    kind: 'IPv6 address',
    pattern: /\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|[0-9a-f]{0,4}::(?:[0-9a-f]{1,4}\b|ffff:)/i,
  },
];

/**
 * Fields left out before scanning: the server's own listening or upstream addresses
 * (`http://127.0.0.1:4001/…`, not a client's), and stack traces, whose file paths
 * (`/work/main/subgraphs/messages/src/services/…`) look like base64 to a pattern but hold only
 * code locations. Error messages are still scanned.
 */
const IGNORED_FIELDS = new Set(['url', 'wsUrl', 'publicUrl', 'location', 'endpoint', 'stack']);

/** A line of a log that holds something it must not. */
export interface LogFinding {
  readonly line: number;
  readonly kind: string;
  /** The matching text, shortened so the report itself leaks little. */
  readonly excerpt: string;
}

function withoutIgnoredFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIgnoredFields);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !IGNORED_FIELDS.has(key))
      .map(([key, inner]) => [key, withoutIgnoredFields(inner)]),
  );
}

/**
 * Scans log lines (JSON or not) for what Courier's logs must never hold: phone numbers, access
 * tokens, base64 bytes (keys, ciphertext, message content), IP addresses, and any of `sentinels`
 * (plaintext a test sent). Server addresses and stack traces are ignored (see {@link IGNORED_FIELDS}).
 */
export function scanLogText(text: string, sentinels: readonly string[] = []): LogFinding[] {
  const findings: LogFinding[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    let line = raw;
    try {
      line = JSON.stringify(withoutIgnoredFields(JSON.parse(raw)));
    } catch {
      line = raw;
    }
    for (const detector of DETECTORS) {
      const match = detector.pattern.exec(line);
      if (match) {
        findings.push({ line: index + 1, kind: detector.kind, excerpt: match[0].slice(0, 12) });
      }
    }
    for (const sentinel of sentinels) {
      if (line.includes(sentinel)) {
        findings.push({ line: index + 1, kind: 'test plaintext', excerpt: sentinel.slice(0, 12) });
      }
    }
  });
  return findings;
}

/** {@link scanLogText} over a file. */
export function scanLogFile(path: string, sentinels: readonly string[] = []): LogFinding[] {
  return scanLogText(readFileSync(path, 'utf8'), sentinels);
}
