import { readFile } from 'node:fs/promises';
import { URL } from 'node:url';

import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';

/** Receives the message of a Rust panic from the wasm module's panic hook. */
class PanicRegistry {
  message = '';
  get() {
    return this.message;
  }
  /** @param {string} message */
  set_message(message) {
    this.message = `RuntimeError: ${message}`;
  }
}

let loaded;

/**
 * Instantiates `@prisma/schema-engine-wasm` by hand: its entry point imports the `.wasm` file as an
 * ES module, which Node 20 cannot do without `--experimental-wasm-modules`.
 *
 * @returns {Promise<typeof bindings>}
 */
export async function loadSchemaEngineWasm() {
  loaded ??= (async () => {
    globalThis.PRISMA_WASM_PANIC_REGISTRY ??= new PanicRegistry();
    const wasmUrl = new URL(
      'schema_engine_bg.wasm',
      import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg'),
    );
    const { WebAssembly } = globalThis;
    const module = await WebAssembly.compile(await readFile(wasmUrl));
    const instance = await WebAssembly.instantiate(module, { './schema_engine_bg.js': bindings });
    bindings.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
    return bindings;
  })();
  return loaded;
}

/** @returns {string} the message of the last wasm panic, if any */
export function lastPanicMessage() {
  return globalThis.PRISMA_WASM_PANIC_REGISTRY?.get() ?? '';
}
