import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const GLOBAL_SETUP = ['packages/testing/src/global-setup.ts'];
const IGNORED = ['**/node_modules/**', '**/.data/**', '**/generated/**'];

/**
 * One test run, three projects: `unit` (no services), `integration` (`*.int.test.ts`, real
 * PostgreSQL and Redis) and `e2e` (`tests/`, the whole platform through the gateway). The global
 * setup migrates one template database per run; each test file clones its own from it.
 */
export default defineConfig({
  resolve: {
    // graphql@16 ships a CommonJS and an ES build with no `exports` map: Node always loads the
    // CommonJS one, but Vite would give our sources the ES one, and a schema built in one realm
    // is rejected by the other. Point Vite at the build Node uses, so tests run what production runs.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...IGNORED, '**/*.int.test.ts', 'tests/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: IGNORED,
          globalSetup: GLOBAL_SETUP,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/**/*.test.ts'],
          exclude: IGNORED,
          // Also captures every log line of the run and scans it for secrets at the end.
          globalSetup: ['packages/testing/src/e2e-global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
