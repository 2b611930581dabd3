import { describe, expect, it } from 'vitest';
import { maskPhoneNumber, normalizePhoneNumber } from './phone-number.ts';

describe('normalizePhoneNumber', () => {
  it.each([
    ['+14155550101', '+14155550101'],
    ['+1 (415) 555-0101', '+14155550101'],
    [' +49 151 23456789 ', '+4915123456789'],
    ['+33 6 12 34 56 78', '+33612345678'],
  ])('normalises %j to %s', (input, expected) => {
    expect(normalizePhoneNumber(input)).toBe(expected);
  });

  it.each([
    '',
    '+',
    '14155550101',
    '+1234',
    '+999123456',
    '+14155550101 ext. 12',
    'hello',
    `+1${'5'.repeat(80)}`,
  ])('refuses %j with BAD_USER_INPUT on field number', (input) => {
    expect(() => normalizePhoneNumber(input)).toThrow(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'number' } }),
    );
  });
});

describe('maskPhoneNumber', () => {
  it('keeps only the first two and last two characters', () => {
    expect(maskPhoneNumber('+14155550101')).toBe('+1********01');
    expect(maskPhoneNumber('+123')).toBe('****');
  });
});
