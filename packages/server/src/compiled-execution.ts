import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import {
  createSourceEventStream,
  getOperationAST,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { operationLabel } from '@courier/schema';
import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { mapAsyncIterator } from './async-iterators.ts';
import { tracingStarted } from './tracing.ts';

type Result = Promise<ExecutionResult> | ExecutionResult;

/** An operation as compiled once per document, with the attributes of its spans. */
interface Compiled {
  /** The compiled operation, or the errors graphql-jit refused it with. */
  readonly query: CompiledQuery | ExecutionResult;
  readonly spanAttributes: Attributes;
}

const tracer = trace.getTracer('@courier/server/graphql-jit');

/**
 * Runs `execute` in a `graphql.execute` span when tracing is on (graphql-jit is not seen by the
 * GraphQL instrumentation, which only wraps graphql-js). Attributes as in our metrics: the
 * operation type and its root fields, never variables or the client's operation name.
 */
function traced(attributes: Attributes, execute: () => Result): Result {
  if (!tracingStarted()) return execute();
  return tracer.startActiveSpan('graphql.execute', { attributes }, async (span) => {
    try {
      const result = await execute();
      if (result.errors?.length) span.setStatus({ code: SpanStatusCode.ERROR });
      return result;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * `execute` and `subscribe` for a subgraph's graphql-ws server that run operations compiled by
 * graphql-jit instead of interpreting the document each time. A device's stream runs the same
 * selection for every envelope it receives, and its sends and acknowledgements repeat the same
 * documents, so each is compiled once per (document, operation name) and kept as long as its
 * document is (the documents come from the parse cache, see `documentCache`). An operation
 * graphql-jit refuses to compile answers with its errors, as graphql-js would.
 *
 * With tracing on, each execution (each event of a subscription) is a `graphql.execute` span.
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
      const operation = getOperationAST(args.document, operationName);
      result = {
        query: compileQuery(args.schema, args.document, operationName),
        spanAttributes: {
          'graphql.operation.type': operation?.operation ?? 'unknown',
          'courier.graphql.root_fields': operationLabel(operation, args.document),
        },
      };
      byName.set(operationName, result);
    }
    return result;
  };
  return {
    execute(args) {
      const { query, spanAttributes } = compile(args);
      if (!isCompiledQuery(query)) return query;
      return traced(spanAttributes, () =>
        query.query(args.rootValue, args.contextValue, args.variableValues),
      );
    },
    async subscribe(args) {
      const { query, spanAttributes } = compile(args);
      if (!isCompiledQuery(query)) return query;
      const source = await createSourceEventStream(args);
      if (!(Symbol.asyncIterator in source)) return source;
      return mapAsyncIterator(source, (payload) =>
        traced(spanAttributes, () => query.query(payload, args.contextValue, args.variableValues)),
      );
    },
  };
}
