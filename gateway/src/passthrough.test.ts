import { describe, expect, it } from 'vitest';
import { isNextFrame } from './passthrough.ts';

const frame = (message: unknown) => Buffer.from(JSON.stringify(message));

describe('isNextFrame', () => {
  it("recognises graphql-ws's next messages from their first bytes", () => {
    expect(isNextFrame(frame({ id: '1', type: 'next', payload: { data: {} } }))).toBe(true);
    expect(isNextFrame(frame({ id: 'a"b\\"c', type: 'next', payload: {} }))).toBe(true);
    expect(isNextFrame(frame({ id: '', type: 'next', payload: {} }))).toBe(true);
  });

  it('does not mistake other messages, or ids that spell a next, for one', () => {
    expect(isNextFrame(frame({ id: '1', type: 'complete' }))).toBe(false);
    expect(isNextFrame(frame({ id: '1', type: 'error', payload: [] }))).toBe(false);
    expect(isNextFrame(frame({ id: '","type":"next', type: 'complete' }))).toBe(false);
    expect(isNextFrame(frame({ id: 'x\\', type: 'error', payload: [] }))).toBe(false);
    expect(isNextFrame(frame({ type: 'next', id: '1', payload: {} }))).toBe(false);
    expect(isNextFrame(frame({ type: 'connection_ack' }))).toBe(false);
    expect(isNextFrame(Buffer.from('{"id":"1'))).toBe(false);
    expect(isNextFrame(Buffer.alloc(0))).toBe(false);
  });
});
