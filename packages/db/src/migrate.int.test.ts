import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createDatabase,
  createPrismaClient,
  databaseUrlFor,
  dropDatabase,
  IdentityType,
  migrateDatabase,
} from './index.ts';

const adminUrl =
  process.env['TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const suffix = randomBytes(5).toString('hex');
const migrated = `courier_dbtest_${suffix}`;
const clone = `courier_dbtest_${suffix}_clone`;

const SCHEMAS = ['accounts', 'attachments', 'groups', 'keys', 'messages'];
const TABLES = [
  'accounts.accounts',
  'attachments.attachments',
  'groups.groups',
  'keys.identity_keys',
  'messages.queued_envelopes',
  'public._prisma_migrations',
];

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('@courier/db migrations', () => {
  let migrateMs = 0;

  beforeAll(async () => {
    await createDatabase(adminUrl, migrated);
    const started = performance.now();
    await migrateDatabase(databaseUrlFor(adminUrl, migrated));
    migrateMs = performance.now() - started;
  }, 60_000);

  afterAll(async () => {
    await dropDatabase(adminUrl, clone);
    await dropDatabase(adminUrl, migrated);
  });

  it('creates one PostgreSQL schema per subgraph with its tables', async () => {
    const url = databaseUrlFor(adminUrl, migrated);
    const schemas = await query<{ nspname: string }>(url, 'SELECT nspname FROM pg_namespace');
    expect(schemas.map((s) => s.nspname)).toEqual(expect.arrayContaining(SCHEMAS));
    const tables = await query<{ name: string }>(
      url,
      "SELECT schemaname || '.' || tablename AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(TABLES));
    expect(migrateMs).toBeGreaterThan(0);
  });

  it('is idempotent', async () => {
    await migrateDatabase(databaseUrlFor(adminUrl, migrated));
    const applied = await query<{ n: string }>(
      databaseUrlFor(adminUrl, migrated),
      'SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL',
    );
    expect(Number(applied[0]?.n)).toBeGreaterThan(0);
  }, 60_000);

  it('clones the migrated database as a template and serves it through Prisma', async () => {
    await createDatabase(adminUrl, clone, { template: migrated });
    const prisma = createPrismaClient(databaseUrlFor(adminUrl, clone), { poolSize: 2 });
    try {
      const aci = crypto.randomUUID();
      const pni = crypto.randomUUID();
      await prisma.account.create({ data: { aci, pni, number: '+15550100001' } });
      await prisma.identityKey.create({
        data: { aci, identity: IdentityType.ACI, publicKey: Buffer.alloc(33, 5) },
      });
      const account = await prisma.account.findUnique({ where: { number: '+15550100001' } });
      expect(account).toMatchObject({ aci, pni, number: '+15550100001' });
      expect(account?.createdAt).toBeInstanceOf(Date);
      const key = await prisma.identityKey.findUnique({
        where: { aci_identity: { aci, identity: IdentityType.ACI } },
      });
      expect(Buffer.from(key?.publicKey ?? [])).toEqual(Buffer.alloc(33, 5));
    } finally {
      await prisma.$disconnect();
    }
    const original = await query(
      databaseUrlFor(adminUrl, migrated),
      'SELECT * FROM accounts.accounts',
    );
    expect(original).toEqual([]);
  }, 30_000);

  it('rejects with the CLI output when the server cannot be reached', async () => {
    const unreachable = databaseUrlFor('postgresql://postgres@127.0.0.1:1/postgres', migrated);
    await expect(migrateDatabase(unreachable)).rejects.toThrow(/P1001|Can't reach database/);
  }, 60_000);
});
