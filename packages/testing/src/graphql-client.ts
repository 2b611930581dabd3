import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A GraphQL response as the gateway sends it. */
export interface GraphQLResponse<TData = Record<string, unknown>> {
  data?: TData | null;
  errors?: Array<{
    message: string;
    path?: ReadonlyArray<string | number>;
    extensions?: Record<string, unknown>;
  }>;
}

/** Options of a single HTTP GraphQL request. */
export interface RequestOptions {
  variables?: Record<string, unknown>;
  /** Access token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
}

/** POSTs one GraphQL operation and returns the HTTP status and decoded body. */
export async function postGraphQL<TData = Record<string, unknown>>(
  url: string,
  query: string,
  options: RequestOptions = {},
): Promise<{ status: number; body: GraphQLResponse<TData> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse<TData> };
}

/** A graphql-ws client; `token` goes in `connectionParams.authorization` as clients send it. */
export function createWsClient(url: string, options: { token?: string } = {}): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
}

/**
 * Subscribes and returns an async iterator of results; `return()` unsubscribes.
 * Errors of the socket (closed by the server, refused) reject the pending `next()`.
 */
export function subscribe<TData = Record<string, unknown>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): AsyncIterableIterator<GraphQLResponse<TData>> {
  return client.iterate<TData>({
    query,
    ...(variables ? { variables } : {}),
  }) as AsyncIterableIterator<GraphQLResponse<TData>>;
}
