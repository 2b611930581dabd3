import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';

type Compiled = CompiledQuery | ExecutionResult;
type Result = Promise<ExecutionResult> | ExecutionResult;

/**
 * `execute` and `subscribe` for a subgraph's graphql-ws server that run operations compiled by
 * graphql-jit instead of interpreting the document each time. A device's stream runs the same
 * selection for every envelope it receives, and its sends and acknowledgements repeat the same
 * documents, so each is compiled once per (document, operation name) and kept as long as its
 * document is (the documents come from the parse cache, see `documentCache`). An operation
 * graphql-jit refuses to compile answers with its errors, as graphql-js would.
 *
 * Decision: a subscription's source stream is still created by graphql-js
 * (`createSourceEventStream`), and only its events go through the compiled selection:
 * graphql-jit 0.8's own `subscribe` hands the operation's variables to the subscribe resolver
 * instead of the field's arguments.
 */
export function compiledExecution(): {
  execute(args: ExecutionArgs): Result;
  subscribe(
    args: ExecutionArgs,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> | ExecutionResult;
} {
  const compiled = new WeakMap<DocumentNode, Map<string | undefined, Compiled>>();
  const compile = (args: ExecutionArgs): Compiled => {
    const operationName = args.operationName ?? undefined;
    let byName = compiled.get(args.document);
    if (!byName) {
      byName = new Map();
      compiled.set(args.document, byName);
    }
    let result = byName.get(operationName);
    if (!result) {
      result = compileQuery(args.schema, args.document, operationName);
      byName.set(operationName, result);
    }
    return result;
  };
  return {
    execute(args) {
      const query = compile(args);
      if (!isCompiledQuery(query)) return query;
      return query.query(args.rootValue, args.contextValue, args.variableValues);
    },
    async subscribe(args) {
      const query = compile(args);
      if (!isCompiledQuery(query)) return query;
      const source = await createSourceEventStream(args);
      if (!(Symbol.asyncIterator in source)) return source;
      return mapEvents(source, (payload) =>
        query.query(payload, args.contextValue, args.variableValues),
      );
    },
  };
}

/**
 * `source` with `map` applied to each event. `return` goes straight to `source`, so a stream
 * waiting for its next event ends at once (an async generator would wait for that event).
 */
function mapEvents<T>(
  source: AsyncIterable<unknown>,
  map: (event: unknown) => Promise<T> | T,
): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const mapped = async (result: IteratorResult<unknown>): Promise<IteratorResult<T>> =>
    result.done
      ? { done: true, value: undefined }
      : { done: false, value: await map(result.value) };
  const events: AsyncIterableIterator<T> = {
    next: async () => mapped(await iterator.next()),
    return: async () => {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    throw: async (error: unknown) => {
      if (iterator.throw) return mapped(await iterator.throw(error));
      throw error;
    },
    [Symbol.asyncIterator]: () => events,
  };
  return events;
}
