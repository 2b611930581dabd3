import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CompositionError,
  checkSupergraph,
  composeSubgraphs,
  composeSupergraph,
  readSubgraphSources,
} from './compose.ts';

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';

const ACCOUNTS = `${LINK}
type Account @key(fields: "aci") { aci: ID! number: String! }
type Query { me: Account! }`;

const KEYS = `${LINK}
type Account @key(fields: "aci") { aci: ID! identityKey: String }
type Query { preKeyCount: Int! }`;

/** Disagrees with ACCOUNTS on the type of a shared, non-key field. */
const KEYS_CONFLICTING = `${LINK}
type Account @key(fields: "aci") { aci: ID! number: Int! }
type Query { preKeyCount: Int! }`;

const dirs: string[] = [];

function subgraphsDir(schemas: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-compose-'));
  dirs.push(dir);
  for (const [name, sdl] of Object.entries(schemas)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'schema.graphql'), sdl);
  }
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('composeSubgraphs', () => {
  it('composes two valid subgraphs into a supergraph with their URLs', () => {
    const sdl = composeSubgraphs([
      { name: 'accounts', url: 'http://localhost:1/graphql', typeDefs: ACCOUNTS },
      { name: 'keys', url: 'http://localhost:2/graphql', typeDefs: KEYS },
    ]);
    expect(sdl).toContain('@join__graph(name: "accounts", url: "http://localhost:1/graphql")');
    expect(sdl).toContain('@join__graph(name: "keys", url: "http://localhost:2/graphql")');
    expect(sdl).toMatch(/identityKey: String @join__field\(graph: KEYS\)/);
  });

  it('fails with readable errors on an invalid pair', () => {
    let caught: unknown;
    try {
      composeSubgraphs([
        { name: 'accounts', url: 'http://localhost:1/graphql', typeDefs: ACCOUNTS },
        { name: 'keys', url: 'http://localhost:2/graphql', typeDefs: KEYS_CONFLICTING },
      ]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CompositionError);
    const error = caught as CompositionError;
    expect(error.errors.length).toBeGreaterThan(0);
    expect(error.message).toContain('[FIELD_TYPE_MISMATCH]');
    expect(error.message).toContain('Account.number');
  });

  it('reports SDL syntax errors as composition errors', () => {
    expect(() =>
      composeSubgraphs([
        { name: 'accounts', url: 'http://localhost:1/graphql', typeDefs: 'type {' },
      ]),
    ).toThrow(CompositionError);
  });
});

describe('composeSupergraph', () => {
  it('reads subgraphs/*/schema.graphql with default ports, or the given URLs', () => {
    const dir = subgraphsDir({ accounts: ACCOUNTS, keys: KEYS });
    const sdl = composeSupergraph({ keys: 'http://127.0.0.1:9999/graphql' }, { subgraphsDir: dir });
    expect(sdl).toContain('url: "http://localhost:4001/graphql"');
    expect(sdl).toContain('url: "http://127.0.0.1:9999/graphql"');
  });

  it('refuses overrides for subgraphs that do not exist and names without a default port', () => {
    const dir = subgraphsDir({ accounts: ACCOUNTS, extra: KEYS });
    expect(() => readSubgraphSources({ nope: 'http://x/graphql' }, dir)).toThrow(
      /unknown subgraph/,
    );
    expect(() => readSubgraphSources({}, dir)).toThrow(/"extra" has no default port/);
    expect(readSubgraphSources({ extra: 'http://x/graphql' }, dir).map((s) => s.name)).toEqual([
      'accounts',
      'extra',
    ]);
  });
});

describe('checkSupergraph', () => {
  it('passes for a fresh file, and detects missing, stale and uncomposable states', () => {
    const dir = subgraphsDir({ accounts: ACCOUNTS, keys: KEYS });
    const file = join(dir, 'supergraph.graphql');

    expect(checkSupergraph(file, { subgraphsDir: dir })).toMatchObject({
      ok: false,
      reason: 'missing',
    });

    writeFileSync(file, composeSupergraph({}, { subgraphsDir: dir }));
    expect(checkSupergraph(file, { subgraphsDir: dir })).toEqual({ ok: true });

    writeFileSync(join(dir, 'keys', 'schema.graphql'), KEYS.replace('preKeyCount', 'preKeyTotal'));
    const stale = checkSupergraph(file, { subgraphsDir: dir });
    expect(stale).toMatchObject({ ok: false, reason: 'stale' });
    expect(stale.ok === false && stale.message).toMatch(/preKeyTotal/);

    writeFileSync(join(dir, 'keys', 'schema.graphql'), KEYS_CONFLICTING);
    expect(checkSupergraph(file, { subgraphsDir: dir })).toMatchObject({
      ok: false,
      reason: 'composition-failed',
    });
  });
});
