import { describe, expect, it } from 'vitest';
import { Base64Scalar, TimestampScalar } from './scalars.ts';

describe('Base64 scalar', () => {
  it('round-trips bytes as padded standard base64', () => {
    const bytes = new Uint8Array([0, 1, 250, 251, 255]);
    const text = Base64Scalar.serialize(bytes);
    expect(text).toBe('AAH6+/8=');
    expect(Base64Scalar.parseValue(text)).toEqual(bytes);
  });

  it.each(['AAH6-_8=', 'AAH6+/8', 'AA H6', 'not base64!', 42])(
    'refuses %s with BAD_USER_INPUT',
    (value) => {
      expect(() => Base64Scalar.parseValue(value)).toThrow(
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        }),
      );
    },
  );
});

describe('Timestamp scalar', () => {
  it('serializes dates, bigints and numbers as milliseconds', () => {
    expect(TimestampScalar.serialize(new Date(1234))).toBe(1234);
    expect(TimestampScalar.serialize(5678n)).toBe(5678);
    expect(TimestampScalar.parseValue(1_764_000_000_000)).toBe(1_764_000_000_000);
  });

  it.each([-1, 1.5, '1', Number.MAX_SAFE_INTEGER + 2])('refuses %s', (value) => {
    expect(() => TimestampScalar.parseValue(value)).toThrow(/milliseconds/);
  });
});
