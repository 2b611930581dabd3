import type { ApolloServerPlugin } from '@apollo/server';
import { BadUserInputError, ErrorCode } from '@courier/errors';
import type { NextFunction, Request, Response } from 'express';
import { GraphQLError, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';

/**
 * Default largest request body of a subgraph: above the gateway's request limit (1.25 MiB by
 * default) with room for the gateway's re-encoding of variables and entity representations, so
 * a request the gateway accepted is never refused by the subgraph behind it.
 */
export const DEFAULT_SUBGRAPH_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Express error handler for the JSON body parser: a body over the limit answers 413
 * `PAYLOAD_TOO_LARGE`, any other unreadable body (malformed JSON, a charset it cannot decode)
 * 400 `BAD_USER_INPUT`, as GraphQL-shaped JSON instead of Express's HTML error page.
 */
export function jsonBodyErrorHandler(
  error: unknown,
  _req: Request,
  res: Response,
  next: NextFunction,
): void {
  const status = (error as { status?: unknown } | null)?.status;
  const type = (error as { type?: unknown } | null)?.type;
  if (typeof status !== 'number' || status < 400 || status >= 500 || res.headersSent) {
    next(error);
    return;
  }
  const tooLarge = type === 'entity.too.large' || status === 413;
  res.status(tooLarge ? 413 : 400).json({
    errors: [
      {
        message: tooLarge ? 'Request body too large' : 'Malformed request body',
        extensions: { code: tooLarge ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.BAD_USER_INPUT },
      },
    ],
  });
}

/**
 * Refuses subscription operations over HTTP with `BAD_USER_INPUT` (HTTP 400): subscriptions
 * are served over graphql-ws only, and a subgraph without them would otherwise fail the
 * operation with an uncoded execution error.
 */
export const refuseHttpSubscriptions: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation === 'subscription') {
          throw new GraphQLError('Subscriptions are served over graphql-ws', {
            extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } },
          });
        }
      },
    };
  },
};

/**
 * Makes `Query._entities` refuse malformed representations (not an object, or a `__typename`
 * that names no object or interface type of this subgraph) with `BAD_USER_INPUT` before `@apollo/subgraph`
 * resolves them, which would fail with an uncoded error.
 */
export function guardEntityRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()['_entities'];
  const resolve = field?.resolve;
  if (!field || !resolve) return;
  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const representations = args.representations;
    if (
      !Array.isArray(representations) ||
      !representations.every((representation: unknown) => {
        const typename = (representation as { __typename?: unknown } | null)?.__typename;
        const type = typeof typename === 'string' ? schema.getType(typename) : undefined;
        return isObjectType(type) || isInterfaceType(type);
      })
    ) {
      throw new BadUserInputError('Malformed entity representation', 'representations');
    }
    return resolve(source, args, context, info);
  };
}
