import { describe, expect, it } from 'vitest';
import { parseRange } from './range.ts';

describe('parseRange', () => {
  const size = 1000;

  it('serves one byte range as asked, clamped to the size', () => {
    expect(parseRange('bytes=0-99', size)).toEqual({
      kind: 'partial',
      range: { start: 0, end: 99 },
    });
    expect(parseRange('bytes=900-', size)).toEqual({
      kind: 'partial',
      range: { start: 900, end: 999 },
    });
    expect(parseRange('bytes=-100', size)).toEqual({
      kind: 'partial',
      range: { start: 900, end: 999 },
    });
    expect(parseRange('bytes=990-5000', size)).toEqual({
      kind: 'partial',
      range: { start: 990, end: 999 },
    });
    expect(parseRange('bytes=-5000', size)).toEqual({
      kind: 'partial',
      range: { start: 0, end: 999 },
    });
  });

  it('answers the whole resource for no, malformed or multiple ranges', () => {
    for (const header of [undefined, '', 'bytes=', 'items=0-1', 'bytes=0-1,5-6', 'bytes=5-1']) {
      expect(parseRange(header, size)).toEqual({ kind: 'full' });
    }
  });

  it('refuses ranges past the end', () => {
    expect(parseRange('bytes=1000-', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', size)).toEqual({ kind: 'unsatisfiable' });
  });
});
