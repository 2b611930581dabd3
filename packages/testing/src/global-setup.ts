import { ensureTemplateDatabase } from './database.ts';
import { testAdminDatabaseUrl } from './env.ts';

/**
 * Vitest global setup: migrates the template database once, before any test file runs, so
 * that files starting in parallel only clone it.
 */
export default async function setup(): Promise<void> {
  await ensureTemplateDatabase(testAdminDatabaseUrl());
}
