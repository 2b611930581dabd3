import type { GatewayConfigSupergraph } from '@graphql-hive/gateway';

/** HTTP header carrying the router secret to subgraphs (and on the WebSocket upgrade). */
export const ROUTER_SECRET_HEADER = 'x-router-secret';

/** graphql-ws `connectionParams` key carrying the router secret to subgraphs. */
export const ROUTER_SECRET_CONNECTION_PARAM = 'routerSecret';

type TransportEntries = NonNullable<GatewayConfigSupergraph['transportEntries']>;
type PropagateHeaders = NonNullable<GatewayConfigSupergraph['propagateHeaders']>;

/**
 * Hive transport entries for every subgraph: the location (supergraph URL or override), the
 * router secret header, and subscriptions over graphql-ws at the same URL whose
 * `connectionParams` carry the router secret and the client's authorization.
 *
 * Per-subgraph entries only hold the location: Hive merges `*.http` after them, so shared
 * options there cannot be shadowed and a location there would shadow every override.
 */
export function transportEntries(
  locations: Readonly<Record<string, string>>,
  routerSecret: string,
): TransportEntries {
  const secretHeader: [string, string][] = [[ROUTER_SECRET_HEADER, routerSecret]];
  const entries: TransportEntries = {
    '*.http': {
      headers: secretHeader,
      options: {
        subscriptions: {
          kind: 'ws',
          headers: secretHeader,
          options: {
            connectionParams: {
              [ROUTER_SECRET_CONNECTION_PARAM]: routerSecret,
              authorization: '{context.headers.authorization}',
            },
          },
        },
      },
    },
  };
  for (const [name, location] of Object.entries(locations)) entries[name] = { location };
  return entries;
}

/**
 * Forwards the client's authorization to subgraph HTTP requests, entity fetches made while
 * resolving a subscription event included. It is read from `context.headers`, where Hive puts
 * the HTTP request's headers merged with the client's graphql-ws `connectionParams`: for a
 * WebSocket client `request` is the upgrade request, which carries no authorization.
 */
export const propagateHeaders: PropagateHeaders = {
  fromClientToSubgraphs({ context }) {
    const authorization: unknown = context.headers.authorization;
    return typeof authorization === 'string' && authorization.length > 0 ? { authorization } : {};
  },
};
