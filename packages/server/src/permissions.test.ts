import { describe, expect, it } from 'vitest';
import { applyMiddleware } from 'graphql-middleware';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, type GraphQLObjectType } from 'graphql';
import { allow, buildPermissions, isAuthenticated, isPublic } from './permissions.ts';

const typeDefs = `
  type Query { open: Thing! pub: String privateField: String unruled: String mixed: Mixed }
  type Thing { a: String! b: String! }
  type Mixed { free: String! guarded: String! other: String! }
`;

function permittedSchema() {
  const schema = buildSubgraphSchema({ typeDefs: parse(typeDefs) });
  const query = schema.getQueryType()!;
  const fields = query.getFields();
  fields['open']!.resolve = () => ({ a: 'a', b: 'b' });
  fields['pub']!.resolve = () => 'pub';
  fields['privateField']!.resolve = () => 'private';
  fields['unruled']!.resolve = () => 'unruled';
  fields['mixed']!.resolve = () => ({ free: 'free', guarded: 'guarded', other: 'other' });
  const thingA = () => 'a';
  (schema.getType('Thing') as GraphQLObjectType).getFields()['a']!.resolve = thingA;
  const rules = {
    Query: { open: allow, pub: isPublic, privateField: isAuthenticated, mixed: allow },
    Thing: allow,
    Mixed: { '*': allow, guarded: isAuthenticated },
  };
  return { schema: applyMiddleware(schema, buildPermissions(rules, schema)), thingA };
}

const anonymous = { auth: { kind: 'anonymous' } };

describe('buildPermissions', () => {
  it('leaves fields whose rule is allow unwrapped, so they resolve synchronously', () => {
    const { schema, thingA } = permittedSchema();
    const thing = schema.getType('Thing') as GraphQLObjectType;
    expect(thing.getFields()['a']!.resolve).toBe(thingA);
    const mixed = schema.getType('Mixed') as GraphQLObjectType;
    expect(mixed.getFields()['free']!.resolve).toBeUndefined();
    expect(mixed.getFields()['guarded']!.resolve).toBeTypeOf('function');
    const query = schema.getQueryType()!.getFields();
    expect(query['pub']!.resolve).not.toBe(undefined);
  });

  it('still refuses unruled and guarded fields, and allows the allowed ones', async () => {
    const { schema } = permittedSchema();
    const run = (source: string) =>
      Promise.resolve(execute({ schema, document: parse(source), contextValue: anonymous }));
    const allowed = await run('{ open { a b } mixed { free other } }');
    expect(allowed).toEqual({
      data: { open: { a: 'a', b: 'b' }, mixed: { free: 'free', other: 'other' } },
    });
    const refused = await run('{ pub privateField unruled mixed { guarded } }');
    expect(refused.data).toEqual({ pub: 'pub', privateField: null, unruled: null, mixed: null });
    expect(
      refused.errors?.map((error) => [error.path?.join('.'), error.extensions['code']]),
    ).toEqual(
      expect.arrayContaining([
        ['privateField', 'UNAUTHENTICATED'],
        ['unruled', 'FORBIDDEN'],
        ['mixed.guarded', 'UNAUTHENTICATED'],
      ]),
    );
  });
});
