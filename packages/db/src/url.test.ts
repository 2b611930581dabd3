import { describe, expect, it } from 'vitest';

import { createDatabase, databaseUrlFor, parseDatabaseUrl } from './index.ts';

describe('databaseUrlFor', () => {
  it('swaps the database name and keeps credentials and parameters', () => {
    expect(
      databaseUrlFor('postgresql://u:p%40ss@db:6543/postgres?sslmode=disable', 'courier_x'),
    ).toBe('postgresql://u:p%40ss@db:6543/courier_x?sslmode=disable');
    expect(databaseUrlFor('postgres://127.0.0.1', 'a_1')).toBe('postgres://127.0.0.1/a_1');
  });

  it('refuses names that would need quoting', () => {
    expect(() => databaseUrlFor('postgresql://h/postgres', 'Bad-Name')).toThrow(
      /Invalid database name/,
    );
    expect(() => databaseUrlFor('postgresql://h/postgres', 'x"; DROP')).toThrow(
      /Invalid database name/,
    );
  });
});

describe('createDatabase', () => {
  it('validates names before connecting', async () => {
    await expect(createDatabase('postgresql://h/postgres', 'nope nope')).rejects.toThrow(
      /Invalid database name/,
    );
    await expect(
      createDatabase('postgresql://h/postgres', 'ok', { template: 'Bad' }),
    ).rejects.toThrow(/Invalid database name/);
  });
});

describe('parseDatabaseUrl', () => {
  it('moves Prisma-only parameters out of the pg config', () => {
    const parsed = parseDatabaseUrl(
      'postgresql://u:p@h:5433/d?schema=accounts&connection_limit=4&application_name=courier',
    );
    expect(parsed.schema).toBe('accounts');
    expect(parsed.connectionLimit).toBe(4);
    expect(parsed.config).toMatchObject({
      host: 'h',
      port: 5433,
      user: 'u',
      password: 'p',
      database: 'd',
      application_name: 'courier',
    });
    expect(parsed.config).not.toHaveProperty('schema');
    expect(parsed.config).not.toHaveProperty('connection_limit');
  });
});
