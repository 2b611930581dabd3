import { composeServices } from '@apollo/composition';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, type GraphQLError } from 'graphql';
import { defaultSubgraphUrl, isSubgraphName } from './subgraphs.ts';

/** Directory holding one folder per subgraph, each with a `schema.graphql`. */
export const DEFAULT_SUBGRAPHS_DIR = fileURLToPath(new URL('../subgraphs/', import.meta.url));

/** Where the composed supergraph is committed. */
export const DEFAULT_SUPERGRAPH_PATH = fileURLToPath(
  new URL('./supergraph.graphql', import.meta.url),
);

/** One subgraph to compose: its name, SDL and the URL the router reaches it at. */
export interface SubgraphSource {
  name: string;
  typeDefs: string;
  url: string;
}

/** Composition failed; `errors` are the composer's errors, `message` lists them readably. */
export class CompositionError extends Error {
  constructor(readonly errors: readonly GraphQLError[]) {
    super(`Supergraph composition failed:\n${formatCompositionErrors(errors)}`);
    this.name = 'CompositionError';
  }
}

/** Options for {@link composeSupergraph} and {@link checkSupergraph}. */
export interface ComposeOptions {
  /**
   * Directory with one folder per subgraph holding its `schema.graphql`.
   * @default the repository's `subgraphs/`
   */
  subgraphsDir?: string;
  /**
   * Receives every composition hint, printed on one line each.
   * @default hints are dropped
   */
  onHint?: (hint: string) => void;
}

/** Formats composition errors as an indented list, one `[CODE] message (source:line:column)` each. */
export function formatCompositionErrors(errors: readonly GraphQLError[]): string {
  return errors
    .map((error) => {
      const code = typeof error.extensions.code === 'string' ? `[${error.extensions.code}] ` : '';
      const where = (error.nodes ?? [])
        .map((node) => node.loc)
        .filter((loc) => loc !== undefined)
        .map((loc) => {
          const { line, column } = loc.source.locationOffset;
          const position = loc.source.body.slice(0, loc.start).split('\n');
          const lineNo = position.length + line - 1;
          const columnNo = (position.at(-1)?.length ?? 0) + column;
          return `${loc.source.name}:${lineNo}:${columnNo}`;
        });
      return `  - ${code}${error.message}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
    })
    .join('\n');
}

/**
 * Composes subgraph SDLs into a Federation 2 supergraph with `@apollo/composition` (the engine
 * rover uses). Throws {@link CompositionError} when the subgraphs do not compose.
 */
export function composeSubgraphs(
  sources: readonly SubgraphSource[],
  onHint?: (hint: string) => void,
): string {
  const parseErrors: GraphQLError[] = [];
  const services = sources.flatMap((source) => {
    try {
      return [{ name: source.name, url: source.url, typeDefs: parse(source.typeDefs) }];
    } catch (error) {
      parseErrors.push(error as GraphQLError);
      return [];
    }
  });
  if (parseErrors.length > 0) throw new CompositionError(parseErrors);
  const result = composeServices(services);
  if (result.errors) throw new CompositionError(result.errors);
  for (const hint of result.hints) onHint?.(`[${hint.definition.code}] ${hint.message}`);
  return result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`;
}

/**
 * Reads every `<subgraphsDir>/<name>/schema.graphql`, in name order, with the URL from
 * `overrides[name]` or else `http://localhost:<default port>/graphql`.
 */
export function readSubgraphSources(
  overrides: Readonly<Record<string, string>> = {},
  subgraphsDir: string = DEFAULT_SUBGRAPHS_DIR,
): SubgraphSource[] {
  const names = readdirSync(subgraphsDir, { withFileTypes: true })
    .filter(
      (entry) =>
        entry.isDirectory() && existsSync(join(subgraphsDir, entry.name, 'schema.graphql')),
    )
    .map((entry) => entry.name)
    .sort();
  if (names.length === 0)
    throw new Error(`No subgraph schema found in ${subgraphsDir}*/schema.graphql`);
  const unknown = Object.keys(overrides).filter((name) => !names.includes(name));
  if (unknown.length > 0)
    throw new Error(`URL override for unknown subgraph(s): ${unknown.join(', ')}`);
  return names.map((name) => {
    const url = overrides[name] ?? (isSubgraphName(name) ? defaultSubgraphUrl(name) : undefined);
    if (url === undefined) {
      throw new Error(
        `Subgraph "${name}" has no default port in schema/subgraphs.ts; add one or pass a URL`,
      );
    }
    return {
      name,
      url,
      typeDefs: readFileSync(join(subgraphsDir, name, 'schema.graphql'), 'utf8'),
    };
  });
}

/**
 * Composes the repository's subgraphs (every `subgraphs/*\/schema.graphql`) and returns the
 * supergraph SDL. `overrides` maps a subgraph name to the URL written in its `@join__graph`
 * (tests compose with subgraphs on free ports). Throws {@link CompositionError} on failure.
 */
export function composeSupergraph(
  overrides: Readonly<Record<string, string>> = {},
  options: ComposeOptions = {},
): string {
  return composeSubgraphs(readSubgraphSources(overrides, options.subgraphsDir), options.onHint);
}

/** Outcome of {@link checkSupergraph}. */
export type CheckResult =
  { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'composition-failed'; message: string };

/**
 * Checks that the committed supergraph equals a fresh composition of the subgraphs with their
 * default URLs. Never throws for a failed composition: it is reported as a result.
 */
export function checkSupergraph(
  supergraphPath: string = DEFAULT_SUPERGRAPH_PATH,
  options: ComposeOptions = {},
): CheckResult {
  let fresh: string;
  try {
    fresh = composeSupergraph({}, options);
  } catch (error) {
    return { ok: false, reason: 'composition-failed', message: (error as Error).message };
  }
  if (!existsSync(supergraphPath)) {
    return { ok: false, reason: 'missing', message: `${supergraphPath} does not exist` };
  }
  const committed = readFileSync(supergraphPath, 'utf8').replace(/\r\n/g, '\n');
  if (committed === fresh) return { ok: true };
  const committedLines = committed.split('\n');
  const freshLines = fresh.split('\n');
  const line = freshLines.findIndex((text, index) => committedLines[index] !== text);
  const at = line === -1 ? committedLines.length : line + 1;
  return {
    ok: false,
    reason: 'stale',
    message:
      `${supergraphPath} differs from a fresh composition at line ${at}:\n` +
      `  committed: ${committedLines[at - 1] ?? '(end of file)'}\n` +
      `  composed:  ${freshLines[at - 1] ?? '(end of file)'}`,
  };
}

/**
 * Runs the command line: compose and write (printing composition hints), or `--check` (quiet
 * unless something is wrong). Returns the exit status.
 */
export function main(argv: readonly string[], out = process.stdout, err = process.stderr): number {
  const check = argv.includes('--check');
  const onHint = (hint: string): void => void err.write(`hint: ${hint}\n`);
  if (check) {
    const result = checkSupergraph(DEFAULT_SUPERGRAPH_PATH);
    if (result.ok) {
      out.write(`supergraph is up to date: ${DEFAULT_SUPERGRAPH_PATH}\n`);
      return 0;
    }
    err.write(`${result.message}\n`);
    if (result.reason !== 'composition-failed')
      err.write('Run `npm run compose` and commit the result.\n');
    return 1;
  }
  try {
    const sdl = composeSupergraph({}, { onHint });
    writeFileSync(DEFAULT_SUPERGRAPH_PATH, sdl);
    out.write(`wrote ${DEFAULT_SUPERGRAPH_PATH}\n`);
    return 0;
  } catch (error) {
    err.write(`${(error as Error).message}\n`);
    return 1;
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  process.exitCode = main(process.argv.slice(2));
}
