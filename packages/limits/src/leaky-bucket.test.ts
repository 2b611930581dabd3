import { describe, expect, it } from 'vitest';
import { takePermits } from './leaky-bucket.ts';

const PERIOD = 1000;

describe('takePermits', () => {
  it('admits a burst of capacity, then refuses without changing state', () => {
    let emptyAt: number | undefined;
    for (let i = 1; i <= 3; i += 1) {
      const result = takePermits(emptyAt, 0, 1, 3, PERIOD);
      expect(result).toMatchObject({ allowed: true, level: i, ms: i * PERIOD });
      emptyAt = result.emptyAt;
    }
    const refused = takePermits(emptyAt, 0, 1, 3, PERIOD);
    expect(refused).toEqual({ allowed: false, level: 4, ms: PERIOD, emptyAt: 3 * PERIOD });
  });

  it('drains one permit per period', () => {
    const full = 3 * PERIOD;
    expect(takePermits(full, PERIOD - 1, 1, 3, PERIOD)).toMatchObject({ allowed: false, ms: 1 });
    expect(takePermits(full, PERIOD, 1, 3, PERIOD)).toMatchObject({ allowed: true, level: 3 });
    expect(takePermits(full, 2.5 * PERIOD, 2, 3, PERIOD)).toMatchObject({
      allowed: true,
      level: 3,
    });
    expect(takePermits(full, 10 * PERIOD, 3, 3, PERIOD)).toMatchObject({ allowed: true, level: 3 });
  });

  it('reports how long until a multi-permit request fits', () => {
    expect(takePermits(2 * PERIOD, 0, 3, 3, PERIOD)).toMatchObject({
      allowed: false,
      ms: 2 * PERIOD,
    });
  });

  it('handles fractional periods without refusing a bucket filled exactly to capacity', () => {
    let emptyAt: number | undefined;
    for (let i = 0; i < 50; i += 1) {
      const result = takePermits(emptyAt, 1_700_000_000_000, 1, 50, 1200);
      expect(result.allowed).toBe(true);
      emptyAt = result.emptyAt;
    }
    expect(takePermits(emptyAt, 1_700_000_000_000, 1, 50, 1200).allowed).toBe(false);
    const bytes = takePermits(undefined, 1_700_000_000_000, 96 * 1024, 128 * 1024 * 1024, 0.5);
    expect(bytes).toMatchObject({ allowed: true, level: 96 * 1024, ms: 48 * 1024 });
  });
});
