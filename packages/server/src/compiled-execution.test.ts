import { describe, expect, it } from 'vitest';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { ConflictError } from '@courier/errors';
import { parse, type ExecutionResult } from 'graphql';
import { compiledExecution } from './compiled-execution.ts';

const schema = buildSubgraphSchema({
  typeDefs: parse(`
    type Query { hello(name: String!): String! fails: String }
    type Subscription { ticks(count: Int!): Int! }
  `),
  resolvers: {
    Query: {
      hello: (_: unknown, args: { name: string }) => `hello ${args.name}`,
      fails: () => {
        throw new ConflictError('taken');
      },
    },
    Subscription: {
      ticks: {
        subscribe: async function* (_: unknown, args: { count: number }) {
          for (let i = 1; i <= args.count; i++) yield { ticks: i };
        },
      },
    },
  },
});

describe('compiledExecution', () => {
  it('answers queries as graphql-js does, field errors with their codes', async () => {
    const { execute } = compiledExecution();
    const document = parse('query ($n: String!) { hello(name: $n) fails }');
    const result = await execute({ schema, document, variableValues: { n: 'you' } });
    expect(result.data).toEqual({ hello: 'hello you', fails: null });
    expect(result.errors?.map((error) => [error.path, error.extensions['code']])).toEqual([
      [['fails'], 'CONFLICT'],
    ]);
    const wrongVariables = await execute({ schema, document, variableValues: { n: 3 } });
    expect(wrongVariables.data).toBeUndefined();
    expect(wrongVariables.errors?.[0]?.message).toMatch(/\$n/);
  });

  it('runs a subscription, every event through the compiled selection', async () => {
    const { subscribe } = compiledExecution();
    const stream = (await subscribe({
      schema,
      document: parse('subscription { ticks(count: 3) }'),
    })) as AsyncIterableIterator<ExecutionResult>;
    const events: unknown[] = [];
    for await (const event of stream) events.push(event.data);
    expect(events).toEqual([{ ticks: 1 }, { ticks: 2 }, { ticks: 3 }]);
  });

  it('answers with the errors of a document it cannot compile (an unknown operation)', async () => {
    const { execute } = compiledExecution();
    const result = await execute({
      schema,
      document: parse('query A { hello(name: "a") }'),
      operationName: 'B',
    });
    expect(result.errors?.[0]?.message).toMatch(/B/);
  });
});

describe('compiledExecution streams', () => {
  it('ends a stream that waits for its next event as soon as it is returned', async () => {
    let ended = false;
    const waiting = buildSubgraphSchema({
      typeDefs: parse('type Query { a: Int } type Subscription { never: Int! }'),
      resolvers: {
        Subscription: {
          never: {
            subscribe: () => ({
              [Symbol.asyncIterator]() {
                return this;
              },
              next: () => new Promise<IteratorResult<unknown>>(() => undefined),
              return: () => {
                ended = true;
                return Promise.resolve({ done: true, value: undefined });
              },
            }),
          },
        },
      },
    });
    const stream = (await compiledExecution().subscribe({
      schema: waiting,
      document: parse('subscription { never }'),
    })) as AsyncIterableIterator<ExecutionResult>;
    const pending = stream.next();
    expect(await stream.return!()).toEqual({ done: true, value: undefined });
    expect(ended).toBe(true);
    void pending;
  });
});
