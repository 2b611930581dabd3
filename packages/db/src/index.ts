/**
 * Courier's database access: the Prisma client generated from `prisma/schema` (one PostgreSQL
 * schema per subgraph), migrations, and database helpers for embedded mode and tests.
 *
 * @packageDocumentation
 */
export {
  createPrismaClient,
  databasePoolStats,
  type DatabasePoolStats,
  type PrismaClientOptions,
} from './client.ts';
export { isUniqueViolation } from './errors.ts';
export { createDatabase, dropDatabase, type CreateDatabaseOptions } from './databases.ts';
export { migrateDatabase, prismaConfigPath } from './migrate.ts';
export { databaseUrlFor, parseDatabaseUrl, type ParsedDatabaseUrl } from './url.ts';
export {
  IdentityType,
  Prisma,
  PrismaClient,
  type Account,
  type Attachment,
  type Group,
  type IdentityKey,
  type QueuedEnvelope,
} from './generated/client.ts';
