import { LRUCache } from 'lru-cache';
import {
  parse,
  validate,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type Source,
} from 'graphql';

/**
 * Parse and validation caches for a subgraph's graphql-ws server, which would otherwise parse
 * and validate every operation again (a device sends the same `sendMessage` document each time,
 * and the gateway hands it over as it is). Parsed documents are kept per query text (at most
 * `size`, least recently used forgotten first) and their validation result per document, so a
 * cached document is validated once. Documents are shared between operations: nothing may
 * mutate them.
 */
export function documentCache(size = 1000): {
  parse: typeof parse;
  validate: typeof validate;
} {
  const documents = new LRUCache<string, DocumentNode>({ max: size });
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return {
    parse(source: string | Source, options) {
      if (typeof source !== 'string' || options) return parse(source, options);
      let document = documents.get(source);
      if (!document) {
        document = parse(source);
        documents.set(source, document);
      }
      return document;
    },
    validate(schema: GraphQLSchema, document: DocumentNode, rules, options, typeInfo) {
      if (rules || options || typeInfo) return validate(schema, document, rules, options, typeInfo);
      let errors = validated.get(document);
      if (!errors) {
        errors = validate(schema, document);
        validated.set(document, errors);
      }
      return errors;
    },
  };
}
