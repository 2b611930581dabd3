/** Port the gateway listens on by default. */
export const GATEWAY_DEFAULT_PORT = 4000;

/**
 * The subgraphs of the Courier supergraph and the port each listens on by default. The
 * composed `supergraph.graphql` points at `http://localhost:<port>/graphql`; deployments
 * override the location per subgraph (see the gateway's `<NAME>_SUBGRAPH_URL`).
 */
export const SUBGRAPH_PORTS = {
  accounts: 4001,
  keys: 4002,
  messages: 4003,
  groups: 4004,
  attachments: 4005,
} as const;

/** Name of a Courier subgraph, as it appears in `join__Graph` of the supergraph. */
export type SubgraphName = keyof typeof SUBGRAPH_PORTS;

/** The subgraph names, in the order of {@link SUBGRAPH_PORTS}. */
export const SUBGRAPH_NAMES = Object.keys(SUBGRAPH_PORTS) as SubgraphName[];

/** Whether `name` is one of the Courier subgraphs. */
export function isSubgraphName(name: string): name is SubgraphName {
  return Object.hasOwn(SUBGRAPH_PORTS, name);
}

/** The URL a subgraph is reached at on a single machine: `http://localhost:<port>/graphql`. */
export function defaultSubgraphUrl(name: SubgraphName, host = 'localhost'): string {
  return `http://${host}:${SUBGRAPH_PORTS[name]}/graphql`;
}

/**
 * Header (HTTP) on which the gateway passes a client's pseudonym (a keyed hash of its address,
 * never the address) to subgraphs, for per-client rate limits of unauthenticated operations.
 */
export const CLIENT_KEY_HEADER = 'x-courier-client';

/** graphql-ws `connectionParams` key carrying the same pseudonym to subgraphs. */
export const CLIENT_KEY_CONNECTION_PARAM = 'clientKey';

/** HTTP header carrying the router secret from the gateway to subgraphs (also on WebSocket upgrades). */
export const ROUTER_SECRET_HEADER = 'x-router-secret';

/** graphql-ws `connectionParams` key carrying the router secret on subscription sockets. */
export const ROUTER_SECRET_CONNECTION_PARAM = 'routerSecret';
