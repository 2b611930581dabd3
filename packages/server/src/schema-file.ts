import { readFileSync } from 'node:fs';
import { parse, type DocumentNode } from 'graphql';

/** Reads and parses a subgraph's `schema.graphql` (pass `new URL('../schema.graphql', import.meta.url)`). */
export function readSchemaFile(url: URL): DocumentNode {
  return parse(readFileSync(url, 'utf8'));
}
