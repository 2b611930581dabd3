import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libpqEnvironment, locateTool } from './postgres-tools.ts';

describe('libpqEnvironment', () => {
  it('passes the connection through PG* variables, without Prisma-only parameters', () => {
    const env = libpqEnvironment(
      'postgresql://courier:p%40ss@db.internal:5433/courier?schema=accounts&sslmode=require',
    );
    expect(env).toMatchObject({
      PGHOST: 'db.internal',
      PGPORT: '5433',
      PGUSER: 'courier',
      PGPASSWORD: 'p@ss',
      PGDATABASE: 'courier',
      PGSSLMODE: 'require',
    });
    expect(Object.values(env).join(' ')).not.toContain('schema=');
  });
});

describe('locateTool', () => {
  let dirs: string[];
  beforeAll(async () => {
    dirs = [];
    for (const major of [14, 16]) {
      const dir = await mkdtemp(join(tmpdir(), `courier-pg${major}-`));
      const tool = join(dir, 'pg_dump');
      await writeFile(tool, `#!/bin/sh\necho "pg_dump (PostgreSQL) ${major}.3"\n`);
      await chmod(tool, 0o755);
      dirs.push(dir);
    }
  });
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('takes the first pg_dump at least as new as the server', async () => {
    expect(await locateTool('pg_dump', 14, dirs)).toEqual({
      path: join(dirs[0]!, 'pg_dump'),
      major: 14,
    });
    expect(await locateTool('pg_dump', 15, dirs)).toEqual({
      path: join(dirs[1]!, 'pg_dump'),
      major: 16,
    });
    expect(await locateTool('pg_dump', 17, dirs)).toBeUndefined();
    expect(await locateTool('pg_restore', 1, dirs)).toBeUndefined();
  });
});
