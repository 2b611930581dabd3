import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Where the processes of a deployment (gateway, subgraphs, migrations) and the embedded mode
 * read their environment, relative to the repository root.
 */
export const ENV_SOURCE_ROOTS = [
  'packages',
  'subgraphs',
  'gateway/src',
  'gateway/gateway.config.ts',
  'prisma/prisma.config.ts',
  'ops/embedded',
];

const NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|^[A-Z]{4,}$/;

function sourceFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      return ['node_modules', 'generated', 'testing', 'test', 'tests'].includes(entry.name)
        ? []
        : sourceFiles(child);
    }
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [child] : [];
  });
}

/** The text of a property name (identifier or string literal), else undefined. */
function nameOf(node: ts.PropertyName | ts.Expression): string | undefined {
  if (ts.isIdentifier(node) || ts.isStringLiteral(node)) return node.text;
  return undefined;
}

/**
 * Environment variables one source file reads: keys of the object literals given to zod's
 * `z.object(…)` / `.extend(…)` in files that define an environment model (they call `parseEnv`
 * or export a `…Env` model), and every `process.env.X`, `process.env['X']` and `env['X']` (also
 * `env[NAME]` where `NAME` is a string constant of the same file).
 * Variables whose names are computed (`${name}_SUBGRAPH_URL`) are not seen here: read them from
 * the model itself.
 */
export function environmentVariablesIn(file: string, text: string): Set<string> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2023, true);
  const definesModel = /\bparseEnv\(|\bexport const \w+Env\b/.test(text);
  const found = new Set<string>();
  const constants = new Map<string, string>();
  const collectConstants = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      ts.isStringLiteral(node.initializer)
    ) {
      constants.set(node.name.text, node.initializer.text);
    }
    ts.forEachChild(node, collectConstants);
  };
  collectConstants(source);
  const visit = (node: ts.Node): void => {
    if (
      definesModel &&
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      ['object', 'extend'].includes(node.expression.name.text)
    ) {
      for (const argument of node.arguments) {
        if (!ts.isObjectLiteralExpression(argument)) continue;
        for (const property of argument.properties) {
          const name = property.name ? nameOf(property.name) : undefined;
          if (name && NAME.test(name)) found.add(name);
        }
      }
    }
    if (
      ts.isPropertyAccessExpression(node) &&
      node.expression.getText(source) === 'process.env' &&
      NAME.test(node.name.text)
    ) {
      found.add(node.name.text);
    }
    if (ts.isElementAccessExpression(node) && /(^|\.)env$/.test(node.expression.getText(source))) {
      const argument = node.argumentExpression;
      const name = ts.isStringLiteral(argument)
        ? argument.text
        : ts.isIdentifier(argument)
          ? constants.get(argument.text)
          : undefined;
      if (name && NAME.test(name)) found.add(name);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every environment variable the code under {@link ENV_SOURCE_ROOTS} reads → the files reading it. */
export function environmentVariables(root: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const start of ENV_SOURCE_ROOTS) {
    for (const file of sourceFiles(join(root, start))) {
      for (const name of environmentVariablesIn(file, readFileSync(file, 'utf8'))) {
        result.set(name, [...(result.get(name) ?? []), relative(root, file)]);
      }
    }
  }
  return result;
}
