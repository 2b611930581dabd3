import { describe, expect, it } from 'vitest';
import { MAX_DEVICE_ID, nextFreeDeviceId } from './service.ts';

describe('device id allocation', () => {
  it('takes the lowest free id from 2 up', () => {
    expect(nextFreeDeviceId([1])).toBe(2);
    expect(nextFreeDeviceId([1, 2, 3, 5])).toBe(4);
    expect(nextFreeDeviceId([1, 3])).toBe(2);
  });

  it('has nothing when every id is taken', () => {
    const all = Array.from({ length: MAX_DEVICE_ID }, (_, i) => i + 1);
    expect(nextFreeDeviceId(all)).toBeUndefined();
  });
});
