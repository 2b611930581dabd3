import { ErrorCode } from '@courier/errors';
import type { GatewayPlugin } from '@graphql-hive/gateway';
import { GraphQLError } from 'graphql';

const KNOWN_CODES = new Set<unknown>(Object.values(ErrorCode));

/** Codes GraphQL Yoga, Hive Gateway and graphql-armor give to errors caused by the request itself. */
const CLIENT_ERROR_CODES = new Set<unknown>([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'COST_ESTIMATED_TOO_EXPENSIVE',
  'COST_QUERY_PARSE_FAILURE',
]);

/** Message clients see in production for anything that is not a coded, expected error. */
export const INTERNAL_MESSAGE = 'Internal server error';

/**
 * Recognises a GraphQLError by shape: graphql@16 ships a CommonJS and an ESM build, and an error
 * made by one is not an `instanceof` the other's class (Yoga and Hive may load either).
 */
function asGraphQLError(error: unknown): GraphQLError | undefined {
  return error instanceof Error &&
    error.name === 'GraphQLError' &&
    typeof (error as GraphQLError).extensions === 'object'
    ? (error as GraphQLError)
    : undefined;
}

function isClientError(error: GraphQLError): boolean {
  if (CLIENT_ERROR_CODES.has(error.extensions.code)) return true;
  const http = error.extensions.http as { status?: unknown } | undefined;
  return typeof http?.status === 'number' && http.status >= 400 && http.status < 500;
}

/**
 * Builds the gateway's `maskedErrors.maskError`: every error leaving the gateway (HTTP, SSE and
 * graphql-ws alike) carries a code from the closed set of DESIGN.md §5.
 *
 * - Coded Courier errors (from subgraphs) pass through untouched.
 * - Errors caused by the request (syntax, validation, limits, a malformed HTTP request) become
 *   `BAD_USER_INPUT`; the same error object is kept so that it is not logged as a failure.
 * - Anything else becomes `INTERNAL`; in production its message is replaced by
 *   {@link INTERNAL_MESSAGE}.
 */
export function createMaskError(production: boolean): (error: unknown) => Error {
  return (error) => {
    const graphqlError = asGraphQLError(error);
    if (graphqlError) {
      if (KNOWN_CODES.has(graphqlError.extensions.code)) return graphqlError;
      if (isClientError(graphqlError)) {
        (graphqlError.extensions as Record<string, unknown>).code = ErrorCode.BAD_USER_INPUT;
        return graphqlError;
      }
    }
    const message = error instanceof Error ? error.message : String(error);
    return new GraphQLError(production ? INTERNAL_MESSAGE : message, {
      nodes: graphqlError?.nodes,
      source: graphqlError?.source,
      positions: graphqlError?.positions,
      path: graphqlError?.path,
      extensions: { code: ErrorCode.INTERNAL },
    });
  };
}

/**
 * Codes validation errors `BAD_USER_INPUT`. They are returned as a result rather than thrown,
 * so they never reach `maskError`; Yoga's own `code ||= GRAPHQL_VALIDATION_FAILED` runs later.
 */
export function useValidationErrorCode(): GatewayPlugin {
  return {
    onValidate() {
      return ({ valid, result }) => {
        if (valid) return;
        for (const error of result) {
          (error.extensions as Record<string, unknown>).code = ErrorCode.BAD_USER_INPUT;
        }
      };
    },
  };
}
