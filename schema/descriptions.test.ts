import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, visit, type ASTNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SUBGRAPHS_DIR } from './compose.ts';
import { SUBGRAPH_NAMES } from './subgraphs.ts';

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/** Names of schema elements in an SDL that lack a description (root type names excepted). */
function undescribed(sdl: string): string[] {
  const missing: string[] = [];
  const path: string[] = [];
  const check = (node: ASTNode & { description?: unknown; name?: { value: string } }) => {
    const name = [...path, node.name?.value].join('.');
    if (!node.description) missing.push(name);
  };
  visit(parse(sdl), {
    enter(node) {
      switch (node.kind) {
        case Kind.OBJECT_TYPE_DEFINITION:
        case Kind.INTERFACE_TYPE_DEFINITION:
        case Kind.INPUT_OBJECT_TYPE_DEFINITION:
        case Kind.ENUM_TYPE_DEFINITION:
          if (!ROOT_TYPES.has(node.name.value)) check(node);
          path.push(node.name.value);
          break;
        case Kind.UNION_TYPE_DEFINITION:
        case Kind.SCALAR_TYPE_DEFINITION:
        case Kind.ENUM_VALUE_DEFINITION:
        case Kind.INPUT_VALUE_DEFINITION:
          check(node);
          break;
        case Kind.FIELD_DEFINITION:
          check(node);
          path.push(node.name.value);
          break;
      }
    },
    leave(node) {
      if (
        node.kind === Kind.OBJECT_TYPE_DEFINITION ||
        node.kind === Kind.INTERFACE_TYPE_DEFINITION ||
        node.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION ||
        node.kind === Kind.ENUM_TYPE_DEFINITION ||
        node.kind === Kind.FIELD_DEFINITION
      ) {
        path.pop();
      }
    },
  });
  return missing;
}

describe('subgraph schemas document themselves', () => {
  it('finds what lacks a description', () => {
    expect(
      undescribed(
        '"""A"""\ntype A { b(c: Int): Int "d" d: Int }\nenum E { X }\ntype Query { q: A }',
      ),
    ).toEqual(['A.b', 'A.b.c', 'E', 'E.X', 'Query.q']);
  });

  it.each(SUBGRAPH_NAMES)(
    '%s: every type, field, argument and enum value has a description',
    (name) => {
      const sdl = readFileSync(join(DEFAULT_SUBGRAPHS_DIR, name, 'schema.graphql'), 'utf8');
      expect(undescribed(sdl)).toEqual([]);
    },
  );
});
