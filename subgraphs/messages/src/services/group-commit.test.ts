import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.ts';

/** A statement the test finishes by hand. */
interface Pending {
  readonly items: readonly number[];
  resolve(results: readonly string[]): void;
  reject(error: Error): void;
}

function groupCommit(maxConcurrent = 1, maxBatchWeight = 10) {
  const statements: Pending[] = [];
  const commit = new GroupCommit<number, string>({
    run: (items) =>
      new Promise((resolve, reject) => statements.push({ items: [...items], resolve, reject })),
    weightOf: (item) => item,
    maxConcurrent,
    maxBatchWeight,
  });
  return { commit, statements };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('runs an item at once when idle, batches what arrives meanwhile, and answers each its own result', async () => {
    const { commit, statements } = groupCommit();
    const first = commit.submit(1);
    await settle();
    expect(statements.map((s) => s.items)).toEqual([[1]]);
    const second = commit.submit(2);
    const third = commit.submit(3);
    await settle();
    expect(statements).toHaveLength(1);
    statements[0]!.resolve(['one']);
    expect(await first).toBe('one');
    await settle();
    expect(statements.map((s) => s.items)).toEqual([[1], [2, 3]]);
    statements[1]!.resolve(['two', 'three']);
    expect(await Promise.all([second, third])).toEqual(['two', 'three']);
  });

  it('fails only the items of a failed statement, and starts a new batch past the weight limit', async () => {
    const { commit, statements } = groupCommit(1, 5);
    const busy = commit.submit(1);
    await settle();
    const heavy = commit.submit(4);
    const light = commit.submit(2);
    await settle();
    statements[0]!.resolve(['busy']);
    await busy;
    await settle();
    expect(statements.map((s) => s.items)).toEqual([[1], [4]]);
    statements[1]!.reject(new Error('statement failed'));
    await expect(heavy).rejects.toThrow('statement failed');
    await settle();
    expect(statements.map((s) => s.items)).toEqual([[1], [4], [2]]);
    statements[2]!.resolve(['light']);
    expect(await light).toBe('light');
  });
});
