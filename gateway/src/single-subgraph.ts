import { LRUCache } from 'lru-cache';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  Kind,
  parse,
  specifiedRules,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
  type OperationTypeNode,
} from 'graphql';
import type { OperationLimits } from './limits.ts';

/** Who may resolve one field of the supergraph, read from its `join__*` directives. */
interface FieldOwners {
  /** Subgraphs that resolve the field on their own. */
  readonly graphs: ReadonlySet<string>;
}

/** The `join__*` facts the analysis needs, keyed by type name and `Type.field`. */
interface JoinFacts {
  readonly typeGraphs: Map<string, Set<string>>;
  readonly fields: Map<string, FieldOwners>;
  /** Types a subgraph sees as an interface object, or entities behind `@requires`: never single. */
  readonly refused: Set<string>;
}

function argumentValue(directive: ConstDirectiveNode, name: string) {
  return directive.arguments?.find((arg) => arg.name.value === name)?.value;
}

function stringArg(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = argumentValue(directive, name);
  if (value?.kind === Kind.STRING) return value.value;
  if (value?.kind === Kind.ENUM) return value.value;
  return undefined;
}

function trueArg(directive: ConstDirectiveNode, name: string): boolean {
  const value = argumentValue(directive, name);
  return value?.kind === Kind.BOOLEAN && value.value;
}

/**
 * Reads the supergraph's `join__Graph` names and the `join__type` / `join__field` directives.
 * A field with a `requires`, `provides`, `override` or `external` join is marked refused (its
 * plan needs more than one fetch or depends on another subgraph's data), as is every type some
 * subgraph joins as an interface object.
 */
function joinFacts(supergraphSdl: string): JoinFacts {
  const document = parse(supergraphSdl, { noLocation: true });
  const graphNames = new Map<string, string>();
  const facts: JoinFacts = { typeGraphs: new Map(), fields: new Map(), refused: new Set() };
  for (const definition of document.definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph') {
      for (const value of definition.values ?? []) {
        const graph = value.directives?.find((d) => d.name.value === 'join__graph');
        const name = graph && stringArg(graph, 'name');
        if (name) graphNames.set(value.name.value, name);
      }
    }
  }
  for (const definition of document.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.UNION_TYPE_DEFINITION
    ) {
      continue;
    }
    const typeName = definition.name.value;
    const graphs = new Set<string>();
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'join__type') continue;
      const graph = graphNames.get(stringArg(directive, 'graph') ?? '');
      if (graph) graphs.add(graph);
      if (trueArg(directive, 'isInterfaceObject')) facts.refused.add(typeName);
    }
    facts.typeGraphs.set(typeName, graphs);
    if (definition.kind === Kind.UNION_TYPE_DEFINITION) continue;
    for (const field of definition.fields ?? []) {
      const joins = (field.directives ?? []).filter((d) => d.name.value === 'join__field');
      const key = `${typeName}.${field.name.value}`;
      if (joins.length === 0) {
        facts.fields.set(key, { graphs });
        continue;
      }
      const owners = new Set<string>();
      for (const join of joins) {
        if (
          trueArg(join, 'external') ||
          argumentValue(join, 'requires') ||
          argumentValue(join, 'provides') ||
          argumentValue(join, 'override')
        ) {
          facts.refused.add(key);
          continue;
        }
        const graph = graphNames.get(stringArg(join, 'graph') ?? '');
        if (graph) owners.add(graph);
      }
      facts.fields.set(key, { graphs: owners });
    }
  }
  return facts;
}

/** Where a single-subgraph operation goes, from {@link SingleSubgraphOperations.owner}. */
export interface SingleSubgraphOperation {
  /** The subgraph that resolves every field of the operation alone. */
  readonly subgraph: string;
  readonly operationType: OperationTypeNode;
  /** The operation's parsed document (for metric labels). */
  readonly document: DocumentNode;
}

/** Options of {@link SingleSubgraphOperations}. */
export interface SingleSubgraphOptions {
  /** The supergraph SDL (with its `join__*` directives). */
  readonly supergraphSdl: string;
  /** The public (API) schema the gateway serves, which documents are validated against. */
  readonly apiSchema: GraphQLSchema;
  /** The gateway's operation limits, applied exactly as its Hive plugins apply them. */
  readonly limits: OperationLimits;
  /**
   * Subgraphs that may take operations this way (they must serve graphql-ws).
   * @default those resolving some `Subscription` field (they serve graphql-ws)
   */
  readonly subgraphs?: ReadonlySet<string>;
  /**
   * Most analysed documents remembered (least recently used forgotten first).
   * @default 1000
   */
  readonly cacheSize?: number;
}

/**
 * Decides which operations one subgraph can answer alone, so the gateway may hand them to that
 * subgraph as they are instead of planning and executing them (see `SubgraphPassthrough`).
 *
 * An operation qualifies when its document parses within the token limit, validates against
 * the public schema with the gateway's depth and alias limits, and every field the document
 * selects (in all its operations and fragments, since the subgraph validates the whole
 * document) is one the same subgraph resolves: a root field joined to that
 * subgraph only, and below it fields that subgraph resolves itself, with no `@requires`,
 * `@provides`, `@override` or `@external` join, no interface object, and every abstract type
 * (union or interface) on the way defined by that subgraph alone. That is exactly when a query
 * plan would be one fetch of the same operation, so the answer is the same either way.
 * Introspection, `__typename`-only operations, `@defer`/`@stream` and anything invalid are left
 * to Hive, which answers errors as usual. Answers are cached per query text and operation name.
 */
export class SingleSubgraphOperations {
  readonly #facts: JoinFacts;
  readonly #options: SingleSubgraphOptions;
  /** Analysed documents; `false` for those left to Hive. */
  readonly #cache: LRUCache<string, SingleSubgraphOperation | false>;
  readonly #rules;
  /** The subgraphs operations may go to (see {@link SingleSubgraphOptions.subgraphs}). */
  readonly subgraphs: ReadonlySet<string>;

  constructor(options: SingleSubgraphOptions) {
    this.#options = options;
    this.#facts = joinFacts(options.supergraphSdl);
    this.#cache = new LRUCache({ max: options.cacheSize ?? 1000 });
    this.subgraphs = options.subgraphs ?? subscriptionSubgraphs(this.#facts);
    this.#rules = [
      ...specifiedRules,
      maxDepthRule({
        n: options.limits.maxDepth,
        ignoreIntrospection: true,
        flattenFragments: true,
        propagateOnRejection: false,
        onReject: [(context, error) => context?.reportError(error)],
      }),
      maxAliasesRule({
        n: options.limits.maxAliases,
        propagateOnRejection: false,
        onReject: [(context, error) => context?.reportError(error)],
      }),
    ];
  }

  /** The subgraph that alone answers `query` (selecting `operationName`), or undefined. */
  owner(
    query: string,
    operationName: string | null | undefined,
  ): SingleSubgraphOperation | undefined {
    const key = `${operationName ?? ''}\u0000${query}`;
    let answer = this.#cache.get(key);
    if (answer === undefined) {
      answer = this.#analyse(query, operationName) ?? false;
      this.#cache.set(key, answer);
    }
    return answer || undefined;
  }

  #analyse(
    query: string,
    operationName: string | null | undefined,
  ): SingleSubgraphOperation | undefined {
    let document: DocumentNode;
    try {
      document = new MaxTokensParserWLexer(query, {
        n: this.#options.limits.maxTokens,
        noLocation: true,
      } as ConstructorParameters<typeof MaxTokensParserWLexer>[1]).parseDocument();
    } catch {
      return undefined;
    }
    const schema = this.#options.apiSchema;
    if (validate(schema, document, this.#rules).length > 0) return undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation) return undefined;
    const { typeGraphs, fields, refused } = this.#facts;
    const typeInfo = new TypeInfo(schema);
    const owners = new Set<string>();
    let single = true;
    let realFields = 0;
    const ownedBy = (graphs: ReadonlySet<string> | undefined) => {
      if (!graphs || graphs.size === 0) {
        single = false;
        return;
      }
      if (owners.size === 0) {
        for (const graph of graphs) owners.add(graph);
        return;
      }
      for (const graph of owners) if (!graphs.has(graph)) owners.delete(graph);
      if (owners.size === 0) single = false;
    };
    const soleGraphs = (typeName: string) => {
      const graphs = typeGraphs.get(typeName);
      if (!graphs || graphs.size !== 1 || refused.has(typeName)) single = false;
      return graphs;
    };
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Directive(node) {
          if (node.name.value === 'defer' || node.name.value === 'stream') single = false;
        },
        Field(node) {
          const parent = typeInfo.getParentType();
          const name = node.name.value;
          if (name === '__typename') return;
          if (name.startsWith('__') || !parent) {
            single = false;
            return;
          }
          realFields++;
          if (refused.has(parent.name)) single = false;
          if (isAbstractType(parent)) {
            ownedBy(soleGraphs(parent.name));
            for (const possible of schema.getPossibleTypes(parent)) {
              ownedBy(soleGraphs(possible.name));
            }
          }
          const key = `${parent.name}.${name}`;
          if (refused.has(key)) single = false;
          ownedBy(fields.get(key)?.graphs);
          const returned = typeInfo.getType();
          const named = returned ? getNamedType(returned) : undefined;
          if (named && isAbstractType(named)) {
            ownedBy(soleGraphs(named.name));
            for (const possible of schema.getPossibleTypes(named)) {
              ownedBy(soleGraphs(possible.name));
            }
          }
        },
      }),
    );
    if (!single || realFields === 0 || owners.size !== 1) return undefined;
    const [subgraph] = owners;
    if (!subgraph || !this.subgraphs.has(subgraph)) return undefined;
    return { subgraph, operationType: operation.operation, document };
  }
}

/** The subgraphs that resolve some `Subscription` field: they serve graphql-ws. */
function subscriptionSubgraphs(facts: JoinFacts): Set<string> {
  const subgraphs = new Set<string>();
  for (const [key, owners] of facts.fields) {
    if (key.startsWith('Subscription.')) for (const graph of owners.graphs) subgraphs.add(graph);
  }
  return subgraphs;
}
