import { z } from 'zod';
import { openSealedEnv } from './secrets.ts';

export { z };

/** Thrown when the environment does not satisfy a configuration model. */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** One line per invalid variable: `NAME: reason`. */
    readonly problems: readonly string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Parses environment variables with a zod model. Every problem is collected into one
 * {@link ConfigError} whose message names each variable and why it is wrong, so an operator
 * fixes them all in one go instead of one restart per mistake. Sealed `enc:` values are opened
 * first with the master key (see `openSealedEnv`), so every process decrypts them at start.
 */
export function parseEnv<T extends z.ZodType>(
  model: T,
  env: NodeJS.ProcessEnv = process.env,
): z.output<T> {
  const opened = openSealedEnv(env);
  if (opened.problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${opened.problems.join('\n  ')}`, [
      ...opened.problems,
    ]);
  }
  const result = model.safeParse(opened.env);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`,
  );
  throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`, problems);
}

/**
 * Runs `load` and, when it throws a {@link ConfigError}, prints the problems and exits with
 * status 78 (EX_CONFIG) — a start-up that cannot work stops at once with a clear message.
 */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

/** An environment flag: accepts true/false/1/0/yes/no (any case). */
export const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'YES', 'NO'])
  .transform((value) => ['true', '1', 'yes'].includes(value.toLowerCase()));

/** A TCP port; 0 asks the operating system for a free one. */
export const port = z.coerce.number().int().min(0).max(65535);

/** A comma-separated list, trimmed, empty items dropped. */
export const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** Settings every Courier process shares. */
export const commonEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Longest a SIGTERM'd process may take to stop before it exits anyway (ms). */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(15_000),
  /**
   * After SIGTERM, how long readiness fails before the process stops accepting (ms), so load
   * balancers stop routing to it first. Set it to about the readiness probe period.
   */
  SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  /**
   * A JSON file of settings that change without a restart (log level, rate limits, CORS
   * origins); see `liveConfigSchema`.
   */
  LIVE_CONFIG_FILE: z.string().min(1).optional(),
});

/** The shared secret the gateway adds to every subgraph request; subgraphs refuse requests without it. */
export const routerSecretEnv = z.object({
  ROUTER_SECRET: z.string().min(32, 'must be at least 32 characters'),
});

/**
 * Bearer token that opens `/metrics` on the gateway and the subgraphs for Prometheus; empty or
 * unset: only the router secret header opens it.
 */
export const metricsEnv = z.object({
  METRICS_TOKEN: z
    .union([z.literal(''), z.string().min(32, 'must be at least 32 characters')])
    .optional()
    .transform((token) => token || undefined),
});

/** PostgreSQL connection. */
export const databaseEnv = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
});

/** Redis connection; unset means in-process bus and memory rate limits (single node only). */
export const redisEnv = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_CHANNEL_PREFIX: z.string().min(1).default('courier:'),
});

/** Access-token signing. */
export const authEnv = z.object({
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters'),
  /** Earlier signing keys (comma-separated), still verified until removed: key rotation. */
  TOKEN_SECRETS_PREVIOUS: commaList
    .pipe(z.array(z.string().min(32, 'every key must be at least 32 characters')))
    .default([]),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
});

export * from './shutdown.ts';
export * from './live-config.ts';
export * from './tls.ts';
export * from './secrets.ts';
export { BASE64_PATTERN } from './formats.ts';
export { tracingEnabled } from './tracing.ts';
