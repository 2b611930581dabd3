import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  commaList,
  commonEnv,
  metricsEnv,
  parseEnv,
  port,
  routerSecretEnv,
  z,
} from '@courier/config';
import { DEFAULT_SUPERGRAPH_PATH, GATEWAY_DEFAULT_PORT, SUBGRAPH_NAMES } from '@courier/schema';
import { GATEWAY_DEFAULTS, MAX_TRUNKS_PER_SUBGRAPH, type GatewayOptions } from './options.ts';

const origin = z.string().refine((value) => {
  try {
    return new URL(value).origin === value.replace(/\/+$/, '');
  } catch {
    return false;
  }
}, 'must be an origin such as https://app.example.com (scheme, host and optional port only)');

const existingFile = z.string().min(1).refine(existsSync, 'file does not exist');

const limit = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const subgraphUrlVariables = Object.fromEntries(
  SUBGRAPH_NAMES.map((name) => [
    `${name.toUpperCase()}_SUBGRAPH_URL`,
    z.url({ protocol: /^https?$/ }).optional(),
  ]),
) as Record<`${Uppercase<(typeof SUBGRAPH_NAMES)[number]>}_SUBGRAPH_URL`, z.ZodOptional<z.ZodURL>>;

/** Environment of the gateway process. */
export const gatewayEnv = commonEnv
  .extend({
    ROUTER_SECRET: routerSecretEnv.shape.ROUTER_SECRET.refine(
      (secret) => !/[{}]/.test(secret),
      'must not contain { or }',
    ),
    GATEWAY_PORT: port.default(GATEWAY_DEFAULT_PORT),
    GATEWAY_HOST: z.string().min(1).default(GATEWAY_DEFAULTS.host),
    /** A load balancer in front sets X-Forwarded-For (client pseudonyms use its first address). */
    GATEWAY_TRUST_PROXY: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
    /** Single-subgraph graphql-ws operations skip Hive's planner (see GatewayOptions.passthrough). */
    GATEWAY_PASSTHROUGH: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
    /** Trunks per lane subgraph (see GatewayOptions.trunksPerSubgraph). */
    GATEWAY_TRUNKS: limit(GATEWAY_DEFAULTS.trunksPerSubgraph).pipe(
      z.number().max(MAX_TRUNKS_PER_SUBGRAPH),
    ),
    CORS_ORIGINS: commaList.pipe(z.array(origin)).default([]),
    TLS_CERT_FILE: existingFile.optional(),
    TLS_KEY_FILE: existingFile.optional(),
    SUPERGRAPH_PATH: existingFile
      .transform((path) => resolve(path))
      .default(DEFAULT_SUPERGRAPH_PATH),
    GATEWAY_MAX_DEPTH: limit(GATEWAY_DEFAULTS.maxDepth),
    GATEWAY_MAX_ALIASES: limit(GATEWAY_DEFAULTS.maxAliases),
    GATEWAY_MAX_TOKENS: limit(GATEWAY_DEFAULTS.maxTokens),
    GATEWAY_MAX_REQUEST_BYTES: limit(GATEWAY_DEFAULTS.maxRequestBytes),
    ...metricsEnv.shape,
    ...subgraphUrlVariables,
  })
  .refine((env) => (env.TLS_CERT_FILE === undefined) === (env.TLS_KEY_FILE === undefined), {
    message: 'set both TLS_CERT_FILE and TLS_KEY_FILE, or neither',
    path: ['TLS_CERT_FILE'],
  });

/** Parsed {@link gatewayEnv}. */
export type GatewayEnv = z.output<typeof gatewayEnv>;

/** Maps the parsed environment to {@link GatewayOptions} (without a logger). */
export function gatewayOptionsFromEnv(env: GatewayEnv): GatewayOptions {
  const subgraphUrls: Record<string, string> = {};
  for (const name of SUBGRAPH_NAMES) {
    const url = env[`${name.toUpperCase() as Uppercase<typeof name>}_SUBGRAPH_URL`];
    if (url !== undefined) subgraphUrls[name] = url;
  }
  return {
    supergraphPath: env.SUPERGRAPH_PATH,
    subgraphUrls,
    routerSecret: env.ROUTER_SECRET,
    production: env.NODE_ENV === 'production',
    corsOrigins: env.CORS_ORIGINS,
    host: env.GATEWAY_HOST,
    trustProxy: env.GATEWAY_TRUST_PROXY,
    passthrough: env.GATEWAY_PASSTHROUGH,
    trunksPerSubgraph: env.GATEWAY_TRUNKS,
    port: env.GATEWAY_PORT,
    tls:
      env.TLS_CERT_FILE !== undefined && env.TLS_KEY_FILE !== undefined
        ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE }
        : undefined,
    maxDepth: env.GATEWAY_MAX_DEPTH,
    maxAliases: env.GATEWAY_MAX_ALIASES,
    maxTokens: env.GATEWAY_MAX_TOKENS,
    maxRequestBytes: env.GATEWAY_MAX_REQUEST_BYTES,
    ...(env.METRICS_TOKEN === undefined ? {} : { metricsToken: env.METRICS_TOKEN }),
    ...(env.LIVE_CONFIG_FILE === undefined ? {} : { liveConfigFile: env.LIVE_CONFIG_FILE }),
  };
}

/** Reads and validates the gateway's environment; throws `ConfigError` listing every problem. */
export function loadGatewayEnv(env: NodeJS.ProcessEnv = process.env): GatewayEnv {
  return parseEnv(gatewayEnv, env);
}
