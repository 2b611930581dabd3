import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** Upper bounds (seconds) of the duration histograms of the gateway and every subgraph. */
export const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** Most root fields named in an `operation` label before it reads `multiple`. */
export const MAX_LABELLED_ROOT_FIELDS = 3;

/**
 * The `operation` metrics label of an operation, as the gateway and every subgraph write it:
 * its root field names (not aliases, sorted, joined by `+`), `multiple` beyond three, `unknown`
 * when there is no operation (unparsable or invalid). The client's operation name and variables
 * never become labels, since a client can put anything (an ACI, a phone number) in them; field
 * names of a validated document exist in the schema, so the label set is bounded.
 */
export function operationLabel(
  operation: OperationDefinitionNode | null | undefined,
  document?: DocumentNode,
): string {
  if (!operation) return 'unknown';
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document?.definitions ?? []) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  if (names.size === 0) return 'unknown';
  if (names.size > MAX_LABELLED_ROOT_FIELDS) return 'multiple';
  return [...names].sort().join('+');
}

/** The `code` label of an error: its `extensions.code` when it is a plain code, else `INTERNAL`. */
export function errorCodeLabel(code: unknown): string {
  return typeof code === 'string' && /^[A-Z][A-Z_]{0,39}$/.test(code) ? code : 'INTERNAL';
}
