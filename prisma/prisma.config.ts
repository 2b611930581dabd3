import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';
import { openSealedEnv } from '../packages/config/src/secrets.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

// The CLI spawns this script instead of downloading the native schema engine (see README.md).
// A real binary can still be chosen by setting the variable before running the CLI.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(here, 'engine', 'schema-engine.mjs');
// No update check: it would call checkpoint.prisma.io on every command.
process.env.CHECKPOINT_DISABLE ??= '1';

// Sealed (`enc:v1:`) URLs are opened with the master key, as every Courier process does.
const opened = openSealedEnv({
  DATABASE_URL: process.env.DATABASE_URL,
  SHADOW_DATABASE_URL: process.env.SHADOW_DATABASE_URL,
  COURIER_MASTER_KEY: process.env.COURIER_MASTER_KEY,
  COURIER_MASTER_KEY_FILE: process.env.COURIER_MASTER_KEY_FILE,
});
if (opened.problems.length > 0) throw new Error(opened.problems.join('\n'));

/**
 * Prisma 7 configuration for Courier: one schema file per subgraph under `schema/`, migrations under
 * `migrations/`. The URLs come from the environment and may be absent: `prisma generate` needs none.
 */
export default defineConfig({
  schema: path.join(here, 'schema'),
  migrations: {
    path: path.join(here, 'migrations'),
  },
  datasource: {
    url: opened.env.DATABASE_URL,
    shadowDatabaseUrl: opened.env.SHADOW_DATABASE_URL,
  },
});
