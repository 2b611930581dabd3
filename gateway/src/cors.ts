import type { GatewayConfigSupergraph, GatewayPlugin } from '@graphql-hive/gateway';
import { APOLLO_STUDIO_ORIGIN } from './options.ts';

type CorsOption = NonNullable<GatewayConfigSupergraph['cors']>;

/** The origins allowed cross-origin: Apollo Sandbox and the configured ones. */
export function allowedOrigins(corsOrigins: readonly string[]): ReadonlySet<string> {
  return new Set([
    APOLLO_STUDIO_ORIGIN,
    ...corsOrigins.map((origin) => origin.replace(/\/+$/, '')),
  ]);
}

/**
 * Yoga CORS option: an allowed origin is echoed with credentials; any other origin gets no CORS
 * headers at all (Yoga's static list form would answer `Access-Control-Allow-Origin: null`).
 */
export function corsOption(origins: ReadonlySet<string>): CorsOption {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !origins.has(origin)) return false;
    return { origin: [origin], credentials: true, maxAge: 600 };
  };
}

/**
 * Adds `Vary: Origin` to every response to a request with an `Origin`: whether CORS headers are
 * present depends on it, so a shared cache must not serve one origin's answer to another.
 */
export function useVaryOrigin(): GatewayPlugin {
  return {
    onResponse({ request, response }) {
      if (!request.headers.has('origin')) return;
      const vary = response.headers.get('vary');
      if (vary === null) response.headers.set('vary', 'Origin');
      else if (!/(^|,)\s*origin\s*(,|$)/i.test(vary))
        response.headers.set('vary', `${vary}, Origin`);
    },
  };
}

/**
 * Whether a WebSocket upgrade may proceed: clients that send no `Origin` (non-browsers),
 * same-origin pages and allowed origins. Refusing the rest stops cross-site WebSocket hijacking.
 */
export function webSocketOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  origins: ReadonlySet<string>,
): boolean {
  if (origin === undefined) return true;
  if (origins.has(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
