import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { watchFiles, type FileWatch } from './watch.ts';

const bucketOverride = z
  .object({
    capacity: z.number().int().positive().optional(),
    periodSeconds: z.number().positive().optional(),
    failOpen: z.boolean().optional(),
  })
  .strict();

/**
 * The settings that change without a restart, as the live configuration file (JSON) holds them:
 * the log level, rate-limit bucket overrides (by bucket name, as `BUCKETS` in packages/limits)
 * and the gateway's CORS origins. An absent key means "the start-up value".
 *
 * @example
 * ```json
 * { "logLevel": "debug", "rateLimits": { "messages": { "capacity": 120 } },
 *   "corsOrigins": ["https://app.example.com"] }
 * ```
 */
export const liveConfigSchema = z
  .object({
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    rateLimits: z.record(z.string(), bucketOverride).optional(),
    corsOrigins: z.array(z.url()).optional(),
  })
  .strict();

/** A parsed live configuration. */
export type LiveConfig = z.output<typeof liveConfigSchema>;

/** What a {@link LiveConfigFile} logs with (a pino logger fits). */
export interface LiveConfigLogger {
  info(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/**
 * Reads `text` as a live configuration.
 *
 * @throws Error naming the problem (not JSON, unknown key, bad value).
 */
export function parseLiveConfig(text: string): LiveConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('live configuration is not valid JSON');
  }
  const parsed = liveConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`live configuration is invalid: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/**
 * A live configuration file: read and applied at start (a bad file stops the start, as other
 * configuration does), then watched; every change that parses is handed to `apply`. A change
 * that does not parse, or that `apply` refuses by throwing, is logged and the previous settings
 * stay. The directory is watched, not the file, so editors' and Kubernetes ConfigMaps' atomic
 * replacements are seen.
 */
export class LiveConfigFile {
  readonly #path: string;
  readonly #apply: (config: LiveConfig) => void;
  readonly #logger: LiveConfigLogger;
  #watch: FileWatch | undefined;
  #lastText: string | undefined;

  constructor(path: string, apply: (config: LiveConfig) => void, logger: LiveConfigLogger) {
    this.#path = resolve(path);
    this.#apply = apply;
    this.#logger = logger;
  }

  /**
   * Applies the file once and starts watching it.
   *
   * @throws Error when the file cannot be read, does not parse, or `apply` refuses it.
   */
  async start(): Promise<void> {
    const text = await readFile(this.#path, 'utf8');
    this.#apply(parseLiveConfig(text));
    this.#lastText = text;
    this.#watch = watchFiles(
      [this.#path],
      () => this.#read(),
      (error) => this.#logger.error({ err: error }, 'live configuration watch failed'),
    );
  }

  /** Re-reads the file now (as a change would); resolves once applied or refused. */
  reload(): Promise<void> {
    return this.#watch?.check() ?? this.#read();
  }

  close(): void {
    this.#watch?.close();
    this.#watch = undefined;
  }

  async #read(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch {
      return;
    }
    if (text === this.#lastText) return;
    try {
      const config = parseLiveConfig(text);
      this.#apply(config);
      this.#lastText = text;
      this.#logger.info({ keys: Object.keys(config) }, 'live configuration applied');
    } catch (error) {
      this.#lastText = text;
      this.#logger.error(
        { reason: (error as Error).message },
        'live configuration refused; keeping the previous settings',
      );
    }
  }
}
