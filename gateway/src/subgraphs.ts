import { Kind, parse, type ConstArgumentNode } from 'graphql';
import { ROUTER_SECRET_HEADER } from '@courier/schema';

function stringArgument(
  args: readonly ConstArgumentNode[] | undefined,
  name: string,
): string | undefined {
  const value = args?.find((arg) => arg.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}

/** The subgraphs named in a supergraph's `join__Graph` enum and the URL written for each. */
export function supergraphSubgraphs(supergraphSdl: string): Record<string, string> {
  const subgraphs: Record<string, string> = {};
  for (const definition of parse(supergraphSdl, { noLocation: true }).definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph')
      continue;
    for (const value of definition.values ?? []) {
      for (const directive of value.directives ?? []) {
        if (directive.name.value !== 'join__graph') continue;
        const name = stringArgument(directive.arguments, 'name');
        const url = stringArgument(directive.arguments, 'url');
        if (name !== undefined && url !== undefined) subgraphs[name] = url;
      }
    }
  }
  if (Object.keys(subgraphs).length === 0)
    throw new Error('The supergraph names no subgraph (join__Graph)');
  return subgraphs;
}

/**
 * The URL the gateway uses for each subgraph: the supergraph's, or the override. An override
 * for a subgraph the supergraph does not have is a configuration mistake and throws.
 */
export function subgraphLocations(
  supergraphSdl: string,
  overrides: Readonly<Record<string, string>>,
): Record<string, string> {
  const locations = supergraphSubgraphs(supergraphSdl);
  const unknown = Object.keys(overrides).filter((name) => !(name in locations));
  if (unknown.length > 0) {
    throw new Error(
      `Subgraph URL override for ${unknown.join(', ')}, not in the supergraph (${Object.keys(locations).join(', ')})`,
    );
  }
  return { ...locations, ...overrides };
}

/** Whether a subgraph answers a `{ __typename }` query with a 2xx within `timeoutMs`. */
export async function probeSubgraph(
  url: string,
  routerSecret: string,
  timeoutMs: number,
): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [ROUTER_SECRET_HEADER]: routerSecret },
      body: JSON.stringify({ query: 'query Readiness { __typename }' }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
