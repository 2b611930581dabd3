import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { Upload } from '@tus/utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAttachmentStorage } from './local-storage.ts';

describe('LocalAttachmentStorage', () => {
  let dir: string;
  let storage: LocalAttachmentStorage;
  const key = 'AAAAAAAAAAAAAAAAAAAA';

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'courier-local-storage-'));
    storage = new LocalAttachmentStorage(path.join(dir, 'store'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores TUS uploads as files and reads them back, whole or ranged', async () => {
    expect(await storage.status(key)).toBeNull();
    await storage.datastore.create(new Upload({ id: key, size: 10, offset: 0 }));
    expect(await storage.status(key)).toEqual({ offset: 0, size: 10 });
    await storage.datastore.write(Readable.from([Buffer.from('0123456789')]), key, 0);
    expect(await storage.status(key)).toEqual({ offset: 10, size: 10 });
    expect(await text(await storage.read(key))).toBe('0123456789');
    expect(await text(await storage.read(key, { start: 2, end: 4 }))).toBe('234');
  });

  it('removes bytes and record, idempotently, even when one of them is gone', async () => {
    await storage.datastore.create(new Upload({ id: key, size: 10, offset: 0 }));
    await unlink(path.join(dir, 'store', key));
    await storage.remove(key);
    await storage.remove(key);
    expect(await readdir(path.join(dir, 'store'))).toEqual([]);
    expect(await storage.status(key)).toBeNull();
    await expect(storage.read(key)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
