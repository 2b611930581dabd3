import { readFileSync } from 'node:fs';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import { DEFAULT_SUPERGRAPH_PATH } from '@courier/schema';
import type { GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SingleSubgraphOperations } from './single-subgraph.ts';

const supergraphSdl = readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8');
const limits = { maxDepth: 12, maxAliases: 15, maxTokens: 2000 };
let runtime: ReturnType<typeof createGatewayRuntime>;
let apiSchema: GraphQLSchema;

beforeAll(async () => {
  runtime = createGatewayRuntime({ supergraph: supergraphSdl, logging: false });
  apiSchema = await runtime.getSchema();
});
afterAll(async () => {
  await runtime?.dispose();
});

describe('SingleSubgraphOperations', () => {
  const operations = () => new SingleSubgraphOperations({ supergraphSdl, apiSchema, limits });

  it('finds the subgraphs that serve graphql-ws from the Subscription fields they resolve', () => {
    expect([...operations().subgraphs].sort()).toEqual(['accounts', 'messages']);
  });

  it("hands the messages hot path to messages: sends, acknowledgements and the envelope stream, fragments on the union's members included", () => {
    const owner = operations();
    const send = owner.owner(
      `mutation S($d: String!, $i: SendMessageInput!) { sendMessage(destination: $d, input: $i) {
        __typename ... on SendMessageSuccess { needsSync } ...Stale } }
       fragment Stale on StaleDevices { staleDevices }`,
      'S',
    );
    expect(send).toMatchObject({ subgraph: 'messages', operationType: 'mutation' });
    expect(owner.owner('mutation { acknowledgeEnvelopes(guids: []) }', undefined)?.subgraph).toBe(
      'messages',
    );
    expect(
      owner.owner(
        'subscription { envelopes { __typename ... on Envelope { guid content } } }',
        null,
      ),
    ).toMatchObject({ subgraph: 'messages', operationType: 'subscription' });
  });

  it('leaves to Hive what needs more than one subgraph or a subgraph without graphql-ws', () => {
    const owner = operations();
    expect(owner.owner('{ me { aci identityKey } }', undefined)).toBeUndefined();
    expect(owner.owner('{ envelopes(limit: 1) { more } me { aci } }', undefined)).toBeUndefined();
    const keysOnly = new SingleSubgraphOperations({
      supergraphSdl,
      apiSchema,
      limits,
      subgraphs: new Set(['messages']),
    });
    expect(keysOnly.owner('{ me { aci } }', undefined)).toBeUndefined();
  });

  it('leaves introspection, __typename alone, @defer and invalid or over-limit documents to Hive', () => {
    const owner = operations();
    expect(owner.owner('{ __typename }', undefined)).toBeUndefined();
    expect(owner.owner('{ __schema { types { name } } }', undefined)).toBeUndefined();
    expect(owner.owner('mutation { acknowledgeEnvelopes(guids: []) nope }', undefined)).toBe(
      undefined,
    );
    expect(owner.owner('mutation { acknowledgeEnvelopes(guids: [) }', undefined)).toBeUndefined();
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: acknowledgeEnvelopes(guids: [])`);
    expect(owner.owner(`mutation { ${aliases.join(' ')} }`, undefined)).toBeUndefined();
    expect(owner.owner(`mutation { ${aliases.slice(0, 15).join(' ')} }`, undefined)?.subgraph).toBe(
      'messages',
    );
    const tokens = `mutation { acknowledgeEnvelopes(guids: [${'"a", '.repeat(2000)}]) }`;
    expect(owner.owner(tokens, undefined)).toBeUndefined();
    expect(
      owner.owner('subscription { envelopes { ... on Envelope @defer { guid } } }', undefined),
    ).toBeUndefined();
  });

  it('needs every operation of a document on the one subgraph, which validates the whole document', () => {
    const owner = operations();
    const both = `query Poll { envelopes(limit: 1) { more } } mutation Ack { acknowledgeEnvelopes(guids: []) }`;
    expect(owner.owner(both, 'Ack')).toMatchObject({
      subgraph: 'messages',
      operationType: 'mutation',
    });
    expect(owner.owner(both, 'Poll')).toMatchObject({
      subgraph: 'messages',
      operationType: 'query',
    });
    expect(owner.owner(both, undefined)).toBeUndefined();
    const mixed = `query Me { me { aci identityKey } } mutation Ack { acknowledgeEnvelopes(guids: []) }`;
    expect(owner.owner(mixed, 'Ack')).toBeUndefined();
    expect(owner.owner(mixed, 'Me')).toBeUndefined();
  });
});
