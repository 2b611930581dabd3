import readline from 'node:readline';

import { log } from './log.mjs';
import { createAdapterFactory } from './pg-adapter.mjs';
import { lastPanicMessage, loadSchemaEngineWasm } from './wasm-engine.mjs';

/** RPC methods the CLI calls under another name than the wasm engine's. */
const METHOD_ALIASES = { getDatabaseVersion: 'version' };

/** Methods of the wasm `SchemaEngine` that are not RPC methods. */
const NOT_RPC = new Set(['constructor', 'free']);

const USER_FACING_ERROR = 4466;
const METHOD_NOT_FOUND = -32601;
const PARSE_ERROR = -32700;

/** @param {unknown} message */
function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** @param {string} line */
function isJsonRecord(line) {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}

/** @param {any} error */
function isPanic(error) {
  return error instanceof globalThis.WebAssembly.RuntimeError || error?.name === 'RuntimeError';
}

/**
 * Turns a rejection of the wasm engine into the JSON-RPC error the native engine would send:
 * the CLI reads `data.message`, `data.error_code` and `data.is_panic`.
 *
 * @param {any} error
 * @param {{ consumeError(id: number): { error: unknown } | undefined }} errorRegistry
 */
function toRpcError(error, errorRegistry) {
  if (isPanic(error)) {
    const message = lastPanicMessage() || String(error?.message ?? error);
    return { code: USER_FACING_ERROR, message, data: { is_panic: true, message } };
  }
  let message = String(error?.message ?? error);
  const jsError = /External error id#(\d+)/.exec(message);
  if (jsError) {
    const original = errorRegistry.consumeError(Number(jsError[1]))?.error;
    if (original instanceof Error) message = original.message;
  }
  const data = { is_panic: false, message };
  if (typeof error?.code === 'string') data.error_code = error.code;
  if (error?.meta !== undefined) data.meta = error.meta;
  return {
    code: USER_FACING_ERROR,
    message: 'An error happened. Check the data field for details.',
    data,
  };
}

/**
 * Serves the schema engine's line-delimited JSON-RPC 2.0 protocol on stdin/stdout, answering each
 * request with the method of the same name on the wasm `SchemaEngine`. Requests run one at a time.
 * `diff` output goes back to the CLI as a `print` request, as the native engine does.
 *
 * @param {{ datamodels: [string, string][] | undefined, datasource: { url?: string, shadowDatabaseUrl?: string } }} options
 * @returns {Promise<number>} the process exit code
 */
export async function serveRpc({ datamodels, datasource }) {
  const { SchemaEngine } = await loadSchemaEngineWasm();
  const adapterFactory = createAdapterFactory(datasource);
  const wasmLog = (/** @type {unknown} */ output) => {
    for (const line of String(output).split('\n')) {
      if (!line.trim()) continue;
      if (isJsonRecord(line)) process.stderr.write(`${line}\n`);
      else log('INFO', line, {}, 'schema_engine_wasm');
    }
  };
  /** @type {Promise<any> | undefined} */
  let enginePromise;
  const engine = () =>
    (enginePromise ??= SchemaEngine.new({ datamodels }, wasmLog, adapterFactory));

  let nextOwnId = 1_000_000_000;
  /** @type {Map<number, () => void>} */
  const awaitingCli = new Map();
  /** @param {string} content */
  const print = (content) =>
    new Promise((resolve) => {
      const id = nextOwnId++;
      awaitingCli.set(id, resolve);
      send({ jsonrpc: '2.0', id, method: 'print', params: { content } });
    });

  // The wasm engine gives evaluateDataLoss and createMigration no shadow database: they read the
  // schema of the migrations directory from a cache that devDiagnostic fills with the migrations
  // applied at that time. When `migrate dev` has just applied pending migrations, that entry is
  // stale, so devDiagnostic runs again first (the native engine would replay them itself).
  let needsPriming = false;
  let exitCode = 0;
  /** @param {any} request */
  const handle = async (request) => {
    const { id, params } = request;
    const method = METHOD_ALIASES[request.method] ?? request.method;
    try {
      const instance = await engine();
      if (NOT_RPC.has(method) || typeof instance[method] !== 'function') {
        if (id !== undefined) {
          send({
            jsonrpc: '2.0',
            id,
            error: { code: METHOD_NOT_FOUND, message: `Method not found: ${request.method}` },
          });
        }
        return;
      }
      if (needsPriming && (method === 'evaluateDataLoss' || method === 'createMigration')) {
        needsPriming = false;
        await instance
          .devDiagnostic({ migrationsList: params.migrationsList, filters: params.filters })
          .catch(() => undefined);
      }
      let result = await instance[method](params ?? undefined);
      if (method === 'applyMigrations') needsPriming = result.appliedMigrationNames.length > 0;
      if (method === 'diff') {
        if (result.stdout) await print(result.stdout);
        result = { exitCode: result.exitCode };
      }
      if (id !== undefined) send({ jsonrpc: '2.0', id, result: result ?? null });
    } catch (error) {
      log('ERROR', `${request.method} failed: ${error?.message ?? error}`);
      if (id !== undefined) {
        send({ jsonrpc: '2.0', id, error: toRpcError(error, adapterFactory.errorRegistry) });
      }
      if (isPanic(error)) {
        // Like the native engine, stop after a panic: the wasm instance is unusable.
        exitCode = 101;
        lines.close();
      }
    }
  };

  let queue = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!line.trim() || exitCode !== 0) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      send({ jsonrpc: '2.0', id: null, error: { code: PARSE_ERROR, message: 'Parse error' } });
      return;
    }
    if (message.method === undefined && typeof message.id === 'number') {
      awaitingCli.get(message.id)?.();
      awaitingCli.delete(message.id);
      return;
    }
    queue = queue.then(() => handle(message));
  });
  await new Promise((resolve) => lines.once('close', resolve));
  for (const release of awaitingCli.values()) release();
  await queue;
  if (enginePromise) (await enginePromise.catch(() => undefined))?.free();
  return exitCode;
}
