import { ErrorCode } from '@courier/errors';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GatewayPlugin } from '@graphql-hive/gateway';
import type { GraphQLError, ValidationContext } from 'graphql';

/** Operation limits enforced before anything reaches a subgraph. */
export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
}

/** Reports a limit as an ordinary validation error rather than throwing it from the validator. */
const asValidationError = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => context?.reportError(error),
  ],
};

/**
 * graphql-armor plugins bounding tokens (a syntax error), depth (introspection excluded,
 * fragments followed) and aliases (`__typename` aliases are free) (validation errors). All are
 * answered as `BAD_USER_INPUT`.
 */
export function operationLimitPlugins(limits: OperationLimits) {
  return [
    maxTokensPlugin({ n: limits.maxTokens }),
    maxDepthPlugin({
      n: limits.maxDepth,
      ignoreIntrospection: true,
      flattenFragments: true,
      ...asValidationError,
    }),
    maxAliasesPlugin({ n: limits.maxAliases, ...asValidationError }),
  ];
}

function payloadTooLarge(fetchAPI: { Response: typeof Response }, maxBytes: number): Response {
  const body = {
    errors: [
      {
        message: `Request body exceeds ${maxBytes} bytes`,
        extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE, limit: maxBytes },
      },
    ],
  };
  return new fetchAPI.Response(JSON.stringify(body), {
    status: 413,
    headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' },
  });
}

async function readAtMost(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(new ArrayBuffer(size));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Refuses HTTP request bodies over `maxBytes` with 413 and a `PAYLOAD_TOO_LARGE` GraphQL error:
 * at once from `Content-Length`, or while reading a body sent without one (chunked).
 */
export function useRequestSizeLimit(maxBytes: number): GatewayPlugin {
  return {
    onRequest({ request, setRequest, endResponse, fetchAPI }) {
      if (request.method === 'GET' || request.method === 'HEAD' || request.body === null) return;
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (Number(declared) > maxBytes) endResponse(payloadTooLarge(fetchAPI, maxBytes));
        return;
      }
      return readAtMost(request.body, maxBytes).then((bytes) => {
        if (bytes === null) {
          endResponse(payloadTooLarge(fetchAPI, maxBytes));
          return;
        }
        setRequest(
          new fetchAPI.Request(request.url, {
            method: request.method,
            headers: request.headers,
            body: bytes,
          }),
        );
      });
    },
  };
}
