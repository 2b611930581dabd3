import { BASE64_PATTERN } from '@courier/config';
import { ConfigError, parseEnv, z } from '@courier/config';
import type { Logger } from '@courier/logging';
import { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';

/**
 * Parses zkgroup server secret params from standard base64 (as {@link generateZkServerSecretParams}
 * writes them).
 *
 * @throws RangeError when the text is not base64 or not serialized `ServerSecretParams`.
 */
export function parseZkServerSecretParams(base64: string): ServerSecretParams {
  const text = base64.trim();
  if (!BASE64_PATTERN.test(text) || text.length === 0) {
    throw new RangeError('zkgroup server secret params must be standard base64');
  }
  try {
    return new ServerSecretParams(new Uint8Array(Buffer.from(text, 'base64')));
  } catch (error) {
    throw new RangeError('zkgroup server secret params do not deserialize', { cause: error });
  }
}

/**
 * Generates fresh zkgroup server secret params and returns them as standard base64, the form
 * `ZK_SERVER_SECRET_PARAMS` takes. Generate once per deployment and keep them: every
 * credential (profile key credentials, group auth credentials, group send endorsements) is bound
 * to them, and clients fetch the matching public params from `Query.zkServerPublicParams`.
 */
export function generateZkServerSecretParams(): string {
  return Buffer.from(ServerSecretParams.generate().serialize()).toString('base64');
}

/**
 * Environment of the zkgroup params: `ZK_SERVER_SECRET_PARAMS`, the base64 of serialized
 * `ServerSecretParams` (make one with {@link generateZkServerSecretParams}). Every instance of
 * every subgraph must get the same value: accounts issues profile key credentials, groups issues
 * auth credentials and group send endorsements, messages and keys verify group send tokens.
 * `createSubgraphRuntime` loads them once per process (`SubgraphRuntime.zkSecretParams`).
 */
export const zkParamsEnv = z.object({
  ZK_SERVER_SECRET_PARAMS: z
    .string()
    .trim()
    .min(1)
    .optional()
    .superRefine((value, context) => {
      if (value === undefined) return;
      try {
        parseZkServerSecretParams(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
});

/** Options of {@link loadZkServerSecretParams}. */
export interface LoadZkServerSecretParamsOptions {
  /** In production the params must be configured; elsewhere missing params are generated. */
  readonly production: boolean;
  /** Told (without the params) when ephemeral params are generated. */
  readonly logger?: Logger;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The zkgroup server secret params of this process: from `ZK_SERVER_SECRET_PARAMS` when set.
 * Unset in production is a configuration error (instances with different params would issue
 * credentials the others reject). Unset elsewhere (tests, development), fresh params are
 * generated for this process only and a warning is logged: credentials issued with them stop
 * verifying after a restart. The embedded mode generates params once and keeps them in its
 * secrets file instead (see {@link generateZkServerSecretParams}).
 *
 * @throws ConfigError when the variable is invalid, or unset in production.
 */
export function loadZkServerSecretParams(
  options: LoadZkServerSecretParamsOptions,
): ServerSecretParams {
  const env = parseEnv(zkParamsEnv, options.env ?? process.env);
  if (env.ZK_SERVER_SECRET_PARAMS !== undefined) {
    return parseZkServerSecretParams(env.ZK_SERVER_SECRET_PARAMS);
  }
  if (options.production) {
    const problem = 'ZK_SERVER_SECRET_PARAMS: required in production (base64 ServerSecretParams)';
    throw new ConfigError(`Invalid configuration:\n  ${problem}`, [problem]);
  }
  options.logger?.warn(
    'ZK_SERVER_SECRET_PARAMS unset: generated zkgroup params for this process only',
  );
  return ServerSecretParams.generate();
}
