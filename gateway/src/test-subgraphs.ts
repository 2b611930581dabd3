import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { TRUNK_PATH, composeSubgraphs } from '@courier/schema';
import { parse, type GraphQLSchema } from 'graphql';
// The CommonJS build, which @apollo/subgraph builds schemas with: under vitest a plain `graphql`
// import in this file resolves to the ESM build, a different realm.
import { execute, subscribe, validate } from 'graphql/index.js';
import { makeServer, type ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Duplex } from 'node:stream';
import { createLogger } from '@courier/logging';
import { serveTrunks, type GraphqlWsExtra, type TrunkServer } from '@courier/server/trunk';

/** What a test subgraph saw of one request: the router secret and the authorization. */
export interface SeenRequest {
  transport: 'http' | 'ws';
  routerSecret: string | undefined;
  authorization: string | undefined;
  /** The GraphQL query (HTTP), or undefined for a WebSocket connection. */
  query?: string;
  /** For a WebSocket connection: the `x-router-secret` header of its upgrade request. */
  upgradeRouterSecret?: string;
  /** The client pseudonym (`x-courier-client` header, or `clientKey` connection parameter). */
  client?: string | undefined;
}

const silent = createLogger({ name: 'test-subgraph', level: 'silent' });

/** A federation subgraph running on a free port for a test. */
export interface TestSubgraph {
  name: string;
  typeDefs: string;
  url: string;
  seen: SeenRequest[];
  /** Requests whose connection closed before the subgraph answered. */
  abandoned: number;
  close(): Promise<void>;
}

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';

const ACCOUNTS_SDL = `${LINK}
type Account @key(fields: "aci") {
  aci: ID!
  number: String!
  self: Account!
}
type Query {
  me: Account!
  internalFailure: String
  forbidden: String
  wait(ms: Int!): String
}`;

const MESSAGES_SDL = `${LINK}
type Account @key(fields: "aci") {
  aci: ID!
  envelopeCount: Int!
}
type Envelope {
  guid: ID!
  account: Account!
}
type Query {
  envelopeLimit: Int!
}
type Subscription {
  envelopes(count: Int! = 2): Envelope!
}`;

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.length > 0 ? JSON.parse(text) : undefined;
}

async function startSubgraph(
  name: string,
  typeDefs: string,
  schema: GraphQLSchema,
  withSubscriptions: boolean,
): Promise<TestSubgraph> {
  const seen: SeenRequest[] = [];
  let abandoned = 0;
  const apollo = new ApolloServer({
    schema,
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const server: Server = createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) abandoned += 1;
    });
    void (async () => {
      const body = await readBody(req);
      seen.push({
        transport: 'http',
        routerSecret: header(req.headers['x-router-secret']),
        authorization: header(req.headers.authorization),
        client: header(req.headers['x-courier-client']),
        query: (body as { query?: string } | undefined)?.query,
      });
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, header(value) ?? '');
      }
      const result = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: {
          method: req.method ?? 'POST',
          headers,
          search: new URL(req.url ?? '/', 'http://localhost').search,
          body,
        },
        context: async () => ({}),
      });
      res.statusCode = result.status ?? 200;
      for (const [key, value] of result.headers) res.setHeader(key, value);
      if (result.body.kind === 'complete') {
        res.end(result.body.string);
      } else {
        for await (const chunk of result.body.asyncIterator) res.write(chunk);
        res.end();
      }
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  let wsServer: WebSocketServer | undefined;
  let graphqlWs: { dispose(): void | Promise<void> } | undefined;
  let trunks: TrunkServer | undefined;
  if (withSubscriptions) {
    const options: ServerOptions<Record<string, unknown>, GraphqlWsExtra> = {
      schema,
      execute,
      subscribe,
      validate,
      onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        seen.push({
          transport: 'ws',
          routerSecret: typeof params.routerSecret === 'string' ? params.routerSecret : undefined,
          authorization:
            typeof params.authorization === 'string' ? params.authorization : undefined,
          upgradeRouterSecret: header(ctx.extra.request.headers['x-router-secret']),
          client: typeof params.clientKey === 'string' ? params.clientKey : undefined,
        });
        return true;
      },
    };
    wsServer = new WebSocketServer({ noServer: true });
    const trunkServer = new WebSocketServer({ noServer: true });
    const sockets = wsServer;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const target = req.url?.startsWith(TRUNK_PATH) ? trunkServer : sockets;
      target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
    });
    graphqlWs = useServer(options, wsServer);
    trunks = serveTrunks(trunkServer, makeServer(options), {
      subgraph: name,
      logger: silent,
      maxFrameBytes: 4 * 1024 * 1024,
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    typeDefs,
    url: `http://127.0.0.1:${port}/graphql`,
    seen,
    get abandoned() {
      return abandoned;
    },
    async close() {
      for (const client of wsServer?.clients ?? []) client.terminate();
      await graphqlWs?.dispose();
      await trunks?.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await apollo.stop();
    },
  };
}

/** Accounts: owns `Account` (with `number`) and `Query.me`; two fields that fail on purpose. */
export function startAccountsSubgraph(): Promise<TestSubgraph> {
  const schema = buildSubgraphSchema({
    typeDefs: parse(ACCOUNTS_SDL),
    resolvers: {
      Query: {
        me: () => ({ aci: 'aci-1' }),
        internalFailure: () => {
          throw new Error('connection to 10.1.2.3:5432 refused');
        },
        wait: (_: unknown, args: { ms: number }) =>
          new Promise((resolve) => setTimeout(() => resolve('done'), args.ms)),
        forbidden: () => {
          throw Object.assign(new Error('Not allowed'), { extensions: { code: 'FORBIDDEN' } });
        },
      },
      Account: {
        __resolveReference: (reference: { aci: string }) => reference,
        number: (account: { aci: string }) => `+1555${account.aci.length}000`,
        self: (account: { aci: string }) => account,
      },
    },
  });
  return startSubgraph('accounts', ACCOUNTS_SDL, schema, false);
}

/** Messages: adds `Account.envelopeCount`; `Subscription.envelopes` over graphql-ws. */
export function startMessagesSubgraph(): Promise<TestSubgraph> {
  const schema = buildSubgraphSchema({
    typeDefs: parse(MESSAGES_SDL),
    resolvers: {
      Query: { envelopeLimit: () => 100 },
      Account: {
        __resolveReference: (reference: { aci: string }) => reference,
        envelopeCount: () => 3,
      },
      Subscription: {
        envelopes: {
          async *subscribe(_: unknown, args: { count: number }) {
            for (let index = 1; index <= args.count; index += 1) {
              yield { envelopes: { guid: `guid-${index}`, account: { aci: `aci-${index}` } } };
            }
          },
        },
      },
    },
  });
  return startSubgraph('messages', MESSAGES_SDL, schema, true);
}

/**
 * Composes test subgraphs as if they ran on the Courier default ports, so that a gateway
 * only reaches them through its `subgraphUrls` override.
 */
export function composeAtDefaultPorts(subgraphs: readonly TestSubgraph[]): string {
  return composeSubgraphs(
    subgraphs.map((subgraph, index) => ({
      name: subgraph.name,
      typeDefs: subgraph.typeDefs,
      url: `http://localhost:${4001 + index}/graphql`,
    })),
  );
}
