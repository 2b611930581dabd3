import { createHash, timingSafeEqual } from 'node:crypto';

/** HTTP header the gateway adds to every subgraph request. */
export const ROUTER_SECRET_HEADER = 'x-router-secret';

/** graphql-ws `connectionParams` key carrying the router secret on subscription sockets. */
export const ROUTER_SECRET_CONNECTION_PARAM = 'routerSecret';

/**
 * Compares a presented router secret with the expected one in constant time. Both sides are
 * hashed first so that the comparison takes the same time whatever the presented length.
 */
export function routerSecretMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}
