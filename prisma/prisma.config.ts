import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';

const here = path.dirname(fileURLToPath(import.meta.url));

// The CLI spawns this script instead of downloading the native schema engine (see README.md).
// A real binary can still be chosen by setting the variable before running the CLI.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(here, 'engine', 'schema-engine.mjs');
// No update check: it would call checkpoint.prisma.io on every command.
process.env.CHECKPOINT_DISABLE ??= '1';

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
    url: process.env.DATABASE_URL,
    shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL,
  },
});
