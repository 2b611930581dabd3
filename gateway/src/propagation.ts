import {
  CLIENT_KEY_CONNECTION_PARAM,
  CLIENT_KEY_HEADER,
  ROUTER_SECRET_CONNECTION_PARAM,
  ROUTER_SECRET_HEADER,
} from '@courier/schema';
import type { GatewayConfigSupergraph } from '@graphql-hive/gateway';

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
              [CLIENT_KEY_CONNECTION_PARAM]: '{context.courierClient}',
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
    const forwarded: Record<string, string> = {};
    const authorization: unknown = context.headers.authorization;
    if (typeof authorization === 'string' && authorization.length > 0) {
      forwarded['authorization'] = authorization;
    }
    const client = clientKeyOf(context);
    if (client) forwarded[CLIENT_KEY_HEADER] = client;
    return forwarded;
  },
};

/**
 * The client pseudonym the gateway stamped on this request (see `ClientKeys`): on graphql-ws
 * from the context field set at connection, on HTTP from the Node request's header (which the
 * gateway overwrote). Never from `context.headers`, where a client's connectionParams could
 * override it.
 */
function clientKeyOf(context: object): string | undefined {
  const fromSocket = (context as { courierClient?: unknown }).courierClient;
  if (typeof fromSocket === 'string') return fromSocket;
  const header = (context as { req?: { headers?: Record<string, unknown> } }).req?.headers?.[
    CLIENT_KEY_HEADER
  ];
  return typeof header === 'string' ? header : undefined;
}
