import type { AuthenticatedDevice, RequestAuth } from '@courier/auth';
import { UnauthenticatedError } from '@courier/errors';
import type { Logger } from '@courier/logging';

/** What every subgraph's GraphQL context carries. */
export interface BaseContext {
  /** Who the request acts as (checked at the edge of the subgraph, per request or socket). */
  readonly auth: RequestAuth;
  readonly logger: Logger;
}

/** The authenticated device of a context (resolvers behind the `isAuthenticated` rule). */
export function requireDevice(context: BaseContext): AuthenticatedDevice {
  if (context.auth.kind !== 'device') throw new UnauthenticatedError();
  return context.auth.device;
}
