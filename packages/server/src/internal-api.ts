import { CourierError, ErrorCode, InternalError, type ErrorCode as Code } from '@courier/errors';
import type { Logger } from '@courier/logging';
import type { NextFunction, Request, Response } from 'express';
import { ROUTER_SECRET_HEADER } from '@courier/schema';

/** Body of an internal API error response. */
interface InternalErrorBody {
  error: { code: Code; message: string; extensions?: Record<string, unknown> };
}

const STATUS_BY_CODE: Record<Code, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
};

/**
 * Wraps an internal-API handler: a {@link CourierError} becomes a JSON error with its code (so
 * the calling subgraph can rethrow it to its client unchanged); anything else is an `INTERNAL`.
 */
export function internalHandler(
  logger: Logger,
  handler: (req: Request, res: Response) => Promise<void>,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    handler(req, res).catch((error: unknown) => {
      if (res.headersSent) return next(error);
      const known = error instanceof CourierError ? error : undefined;
      const code = known?.code ?? ErrorCode.INTERNAL;
      const { code: _code, ...extensions } = known?.extensions ?? {};
      const body: InternalErrorBody = {
        error: {
          code,
          message: known?.message ?? 'Internal server error',
          ...(Object.keys(extensions).length ? { extensions } : {}),
        },
      };
      if (!known) logger.error({ err: error, path: req.path }, 'internal API failure');
      res.status(STATUS_BY_CODE[code]).json(body);
    });
  };
}

/**
 * Calls another subgraph's internal API (`/internal/...`) with the router secret. Coded errors
 * come back as {@link CourierError}s with the same code, message and extensions.
 */
export class InternalApiClient {
  readonly #baseUrl: string;
  readonly #routerSecret: string;
  readonly #timeoutMs: number;

  /** `baseUrl` is the subgraph's origin, e.g. `http://keys.internal:4002`. */
  constructor(baseUrl: string, routerSecret: string, options: { timeoutMs?: number } = {}) {
    this.#baseUrl = baseUrl.replace(/\/graphql$/, '').replace(/\/$/, '');
    this.#routerSecret = routerSecret;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Sends a request; resolves with the decoded JSON body (or undefined for 204). */
  async request<T = unknown>(
    method: 'POST' | 'DELETE' | 'GET',
    path: string,
    body?: unknown,
  ): Promise<T> {
    let response: globalThis.Response;
    try {
      response = await fetch(`${this.#baseUrl}/internal${path}`, {
        method,
        headers: {
          [ROUTER_SECRET_HEADER]: this.#routerSecret,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      throw new InternalError('A required service is unavailable', { cause });
    }
    if (response.status === 204) return undefined as T;
    const decoded = (await response.json().catch(() => undefined)) as unknown;
    if (response.ok) return decoded as T;
    const error = (decoded as Partial<InternalErrorBody> | undefined)?.error;
    if (error && error.code in STATUS_BY_CODE && error.code !== ErrorCode.INTERNAL) {
      throw new CourierError(error.code, error.message, error.extensions ?? {});
    }
    throw new InternalError('A required service failed');
  }
}
