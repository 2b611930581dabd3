import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/**
 * The closed set of `extensions.code` values Courier answers with (DESIGN.md §5). Clients may
 * switch on these; nothing else is ever sent.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  RATE_LIMITED: 'RATE_LIMITED',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** Base of every expected Courier error: a GraphQL error that always carries a code. */
export class CourierError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
    options: { cause?: unknown } = {},
  ) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'CourierError';
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/** No credentials, or credentials that are invalid, expired or revoked. */
export class UnauthenticatedError extends CourierError {
  constructor(message = 'Authentication required') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}

/** Authenticated, but not allowed to do this. */
export class ForbiddenError extends CourierError {
  constructor(message = 'Not allowed') {
    super(ErrorCode.FORBIDDEN, message);
  }
}

/** An argument is malformed or out of range. `field` names the argument path when known. */
export class BadUserInputError extends CourierError {
  constructor(message: string, field?: string) {
    super(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
  }
}

export class NotFoundError extends CourierError {
  constructor(message = 'Not found') {
    super(ErrorCode.NOT_FOUND, message);
  }
}

export class ConflictError extends CourierError {
  constructor(message: string) {
    super(ErrorCode.CONFLICT, message);
  }
}

/** Too many attempts; `retryAfter` is in whole seconds (at least 1). */
export class RateLimitedError extends CourierError {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'Too many requests',
  ) {
    super(ErrorCode.RATE_LIMITED, message, {
      retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)),
    });
  }
}

export class PayloadTooLargeError extends CourierError {
  constructor(
    readonly limitBytes: number,
    message = `Payload exceeds ${limitBytes} bytes`,
  ) {
    super(ErrorCode.PAYLOAD_TOO_LARGE, message, { limit: limitBytes });
  }
}

export class InternalError extends CourierError {
  constructor(message = 'Internal server error', options: { cause?: unknown } = {}) {
    super(ErrorCode.INTERNAL, message, {}, options);
  }
}

/**
 * Formats errors on the way out. Errors with a known code pass through unchanged; anything
 * else (a bug, a database failure) becomes `INTERNAL`, and in production its message is hidden
 * so internal text never reaches a client. GraphQL validation errors keep their message
 * (they describe the client's own query) but get `BAD_USER_INPUT` unless they already carry a
 * known code.
 */
export function formatCourierError(
  formatted: GraphQLFormattedError,
  options: { production: boolean },
): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && KNOWN_CODES.has(code)) return formatted;
  if (
    code === 'GRAPHQL_VALIDATION_FAILED' ||
    code === 'GRAPHQL_PARSE_FAILED' ||
    code === 'BAD_REQUEST'
  ) {
    return {
      ...formatted,
      extensions: { ...formatted.extensions, code: ErrorCode.BAD_USER_INPUT },
    };
  }
  return {
    message: options.production ? 'Internal server error' : formatted.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: ErrorCode.INTERNAL },
  };
}
