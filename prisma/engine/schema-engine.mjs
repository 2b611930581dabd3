#!/usr/bin/env node
// Offline stand-in for Prisma's native `schema-engine` binary: the same command line and
// JSON-RPC protocol, answered by @prisma/schema-engine-wasm over @prisma/adapter-pg.
// prisma.config.ts points PRISMA_SCHEMA_ENGINE_BINARY here. See ../README.md.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { runCliCommand } from './cli-commands.mjs';
import { log } from './log.mjs';
import { serveRpc } from './rpc-server.mjs';
import { loadSchemaEngineWasm } from './wasm-engine.mjs';

process.removeAllListeners('warning');
process.on('warning', (warning) => log('WARN', `${warning.name}: ${warning.message}`));

/**
 * Parses the native engine's arguments: `[--datamodels PATH]… [--datasource JSON]
 * [--enabled-preview-features A,B] [--extension-types JSON] [cli COMMAND] [--version]`.
 *
 * @param {string[]} argv
 */
function parseArguments(argv) {
  const parsed = { datamodelPaths: [], datasource: {}, cliCommand: undefined, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--datamodels':
        parsed.datamodelPaths.push(argv[++i]);
        break;
      case '--datasource':
        parsed.datasource = JSON.parse(argv[++i] ?? '{}');
        break;
      case '--enabled-preview-features':
      case '--extension-types':
        i++;
        break;
      case '--version':
      case '-V':
        parsed.version = true;
        break;
      case 'cli':
        parsed.cliCommand = argv[++i];
        break;
      default:
        throw new Error(`Unexpected argument: ${arg}`);
    }
  }
  return parsed;
}

async function main() {
  const args = parseArguments(process.argv.slice(2));
  if (args.version) {
    const { version } = await loadSchemaEngineWasm();
    process.stdout.write(`schema-engine-wasm ${version()}\n`);
    return 0;
  }
  if (args.cliCommand) return runCliCommand(args.cliCommand, args.datasource);
  const datamodels = await Promise.all(
    args.datamodelPaths.map(async (file) => [file, await readFile(path.resolve(file), 'utf8')]),
  );
  return serveRpc({
    datamodels: datamodels.length > 0 ? datamodels : undefined,
    datasource: args.datasource,
  });
}

/**
 * Exits once stdout and stderr are flushed (pipes are asynchronous on some platforms). Exiting
 * explicitly matters: idle pg pools the wasm engine never disposes would keep the process alive.
 *
 * @param {number} code
 */
function exitWhenFlushed(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main().then(exitWhenFlushed, (error) => {
  log('ERROR', String(error?.stack ?? error), { is_panic: false }, 'schema_engine::logger');
  exitWhenFlushed(1);
});
