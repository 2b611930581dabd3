import type { AuthenticatedDevice, RequestAuth } from '@courier/auth';
import { UnauthenticatedError } from '@courier/errors';
import type { Logger } from '@courier/logging';

/** What every subgraph's GraphQL context carries. */
export interface BaseContext {
  /** Who the request acts as (checked at the edge of the subgraph, per request or socket). */
  readonly auth: RequestAuth;
  readonly logger: Logger;
  /**
   * The caller's pseudonym from the gateway (a keyed, daily-changing hash of its address; never
   * the address), for per-client rate limits of unauthenticated operations; undefined when the
   * gateway sent none.
   */
  readonly client?: string | undefined;
}

/** The pseudonym in a header or connection parameter, when it has the gateway's shape. */
export function clientKeyFrom(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{22}$/.test(value) ? value : undefined;
}

/** The authenticated device of a context (resolvers behind the `isAuthenticated` rule). */
export function requireDevice(context: BaseContext): AuthenticatedDevice {
  if (context.auth.kind !== 'device') throw new UnauthenticatedError();
  return context.auth.device;
}
