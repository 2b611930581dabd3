/** PostgreSQL server URL the tests create their databases on (any database on it; usually `postgres`). */
export function testAdminDatabaseUrl(): string {
  return process.env['TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

/** Redis the tests use; every test platform gets its own key and channel prefix on it. */
export function testRedisUrl(): string {
  return process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}
