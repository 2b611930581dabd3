import { readFileSync } from 'node:fs';
import {
  buildSchema,
  getNamedType,
  isCompositeType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLSchema,
} from 'graphql';

/** The root operation types of the public graph. */
export type RootType = 'Query' | 'Mutation' | 'Subscription';

/** One root field of the composed supergraph, with its arguments' types. */
export interface RootField {
  readonly root: RootType;
  readonly name: string;
  /** `Query.me`, `Mutation.sendMessage`, ... */
  readonly id: string;
  readonly args: readonly GraphQLArgument[];
  readonly field: GraphQLField<unknown, unknown>;
}

const SUPERGRAPH_PATH = new URL('../schema/supergraph.graphql', import.meta.url);

/** The composed supergraph (`schema/supergraph.graphql`) as a schema, join directives and all. */
export function loadSupergraph(): GraphQLSchema {
  return buildSchema(readFileSync(SUPERGRAPH_PATH, 'utf8'), { assumeValidSDL: true });
}

/** Every field of `Query`, `Mutation` and `Subscription` of the supergraph. */
export function rootFields(schema: GraphQLSchema = loadSupergraph()): RootField[] {
  const roots: [RootType, ReturnType<GraphQLSchema['getQueryType']>][] = [
    ['Query', schema.getQueryType()],
    ['Mutation', schema.getMutationType()],
    ['Subscription', schema.getSubscriptionType()],
  ];
  return roots.flatMap(([root, type]) =>
    type
      ? Object.values(type.getFields()).map((field) => ({
          root,
          name: field.name,
          id: `${root}.${field.name}`,
          args: field.args,
          field,
        }))
      : [],
  );
}

/**
 * A document calling `field` with every argument bound to a variable of the argument's own name
 * and type (`$name: Type`), selecting `__typename` of a composite result.
 */
export function operationFor(field: RootField, args = field.args): string {
  const keyword = field.root.toLowerCase();
  const definitions = args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const call = args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.field.type)) ? ' { __typename }' : '';
  return `${keyword}${definitions ? ` (${definitions})` : ''} { ${field.name}${
    call ? `(${call})` : ''
  }${selection} }`;
}
