import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { mapAsyncIterator } from './async-iterators.ts';

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
      return mapAsyncIterator(source, (payload) =>
        query.query(payload, args.contextValue, args.variableValues),
      );
    },
  };
}
