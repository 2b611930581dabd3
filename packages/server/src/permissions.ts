import { UnauthenticatedError, ForbiddenError } from '@courier/errors';
import { isObjectType, type GraphQLSchema } from 'graphql';
import { middleware, type IMiddlewareFieldMap } from 'graphql-middleware';
import type { IRules } from 'graphql-shield';
import { allow, deny, rule, shield } from 'graphql-shield';
import type { BaseContext } from './context.ts';

const REJECTION_MESSAGES = {
  expired: 'Access token expired',
  malformed: 'Malformed authorization header',
  invalid: 'Invalid access token',
  revoked: 'Access token revoked',
} as const;

/** Allows a field only to a request authenticated as a device. */
export const isAuthenticated = rule({ cache: 'contextual' })((
  _parent,
  _args,
  context: BaseContext,
) => {
  if (context.auth.kind === 'device') return true;
  if (context.auth.kind === 'rejected') {
    return new UnauthenticatedError(REJECTION_MESSAGES[context.auth.reason]);
  }
  return new UnauthenticatedError();
});

/**
 * Allows a field to anyone whose credentials, if presented, are valid: an expired or forged
 * token is refused even on public fields, so a client learns at once that it must log in again.
 */
export const isPublic = rule({ cache: 'contextual' })((_parent, _args, context: BaseContext) =>
  context.auth.kind === 'rejected'
    ? new UnauthenticatedError(REJECTION_MESSAGES[context.auth.reason])
    : true,
);

/**
 * Wraps a subgraph's rule tree in graphql-shield with a deny fallback: any field without a
 * rule is refused, so a new field is private until someone decides otherwise. Federation's own
 * fields (`_service`, and `_entities` where the subgraph has entities), which the router needs
 * to plan queries and resolve entities, are allowed.
 */
export function buildPermissions(rules: IRules, schema: GraphQLSchema) {
  const tree = rules as Record<string, unknown>;
  const federationQueryRules = Object.fromEntries(
    ['_service', '_entities']
      .filter((field) => schema.getQueryType()?.getFields()[field])
      .map((field) => [field, allow]),
  );
  const query = {
    ...(tree['Query'] as Record<string, unknown> | undefined),
    ...federationQueryRules,
  };
  const fullTree = { ...tree, _Service: allow, Query: query };
  const shielded = shield(fullTree as IRules, {
    fallbackRule: deny,
    fallbackError: () => new ForbiddenError(),
    allowExternalErrors: true,
  });
  return middleware((target: GraphQLSchema) =>
    withoutAllowedFields(shielded.generate(target) as IMiddlewareFieldMap, fullTree, target),
  );
}

/**
 * Drops graphql-shield's wrapper from fields whose rule is `allow`. With `allowExternalErrors`
 * the wrapper of an allowed field only calls the resolver, but it makes every such field
 * asynchronous: an `Envelope` resolved in an envelope stream paid a promise per field per event.
 */
function withoutAllowedFields(
  generated: IMiddlewareFieldMap,
  tree: Readonly<Record<string, unknown>>,
  schema: GraphQLSchema,
): IMiddlewareFieldMap {
  const kept: IMiddlewareFieldMap = {};
  for (const [typeName, fields] of Object.entries(generated)) {
    const type = schema.getType(typeName);
    const typeRule = tree[typeName];
    if (!isObjectType(type) || typeof fields !== 'object') {
      kept[typeName] = fields;
      continue;
    }
    const ruleOf = (field: string): unknown => {
      if (typeRule === undefined || typeRule === null) return deny;
      if (typeof typeRule !== 'object' || !isFieldRuleMap(typeRule)) return typeRule;
      return typeRule[field] ?? typeRule['*'] ?? deny;
    };
    kept[typeName] = Object.fromEntries(
      Object.entries(fields).filter(([field]) => ruleOf(field) !== allow),
    );
  }
  return kept;
}

function isFieldRuleMap(value: object): value is Record<string, unknown> {
  return value.constructor === Object;
}

export { allow, deny, rule, and, or, not } from 'graphql-shield';
