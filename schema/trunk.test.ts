import { describe, expect, it } from 'vitest';
import {
  TRUNK_FLUSH_BYTES,
  TrunkProtocolError,
  TrunkRecordKind,
  TrunkWriter,
  decodeTrunkClose,
  decodeTrunkMessage,
  encodeTrunkClose,
  readTrunkMessage,
} from './trunk.ts';

/** Resolves after the event-loop turn in which a writer schedules its flush. */
const afterTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('the trunk codec', () => {
  it('sends what one turn writes as one message, records in order, UTF-8 intact', async () => {
    const sent: Buffer[] = [];
    const writer = new TrunkWriter((message) => sent.push(message));
    writer.write(7, TrunkRecordKind.open);
    writer.write(7, TrunkRecordKind.frame, '{"type":"connection_init","payload":{"n":"ünï"}}');
    writer.write(4_000_000_000, TrunkRecordKind.frame, Buffer.from('{"id":"1"}'));
    writer.write(7, TrunkRecordKind.close, encodeTrunkClose(4401, 'Unauthorized'));
    expect(sent).toHaveLength(0);
    await afterTurn();
    expect(sent).toHaveLength(1);
    const records = decodeTrunkMessage(sent[0]!);
    expect(records.map((r) => [r.channel, r.kind])).toEqual([
      [7, TrunkRecordKind.open],
      [7, TrunkRecordKind.frame],
      [4_000_000_000, TrunkRecordKind.frame],
      [7, TrunkRecordKind.close],
    ]);
    expect(records[0]!.payload.length).toBe(0);
    expect(records[1]!.payload.toString('utf8')).toBe(
      '{"type":"connection_init","payload":{"n":"ünï"}}',
    );
    expect(records[2]!.payload.toString('utf8')).toBe('{"id":"1"}');
    expect(decodeTrunkClose(records[3]!.payload)).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('sends at once past the flush size, and holds everything while paused', async () => {
    const sent: Buffer[] = [];
    const writer = new TrunkWriter((message) => sent.push(message), { paused: true });
    const big = 'x'.repeat(TRUNK_FLUSH_BYTES / 2);
    writer.write(1, TrunkRecordKind.frame, big);
    writer.write(1, TrunkRecordKind.frame, big);
    writer.write(1, TrunkRecordKind.frame, big);
    await afterTurn();
    expect(sent).toHaveLength(0);
    writer.resume();
    expect(sent).toHaveLength(1);
    expect(decodeTrunkMessage(sent[0]!)).toHaveLength(3);
    writer.write(2, TrunkRecordKind.frame, big);
    writer.write(2, TrunkRecordKind.frame, big);
    writer.write(2, TrunkRecordKind.frame, big);
    expect(sent).toHaveLength(2);
    await afterTurn();
    expect(sent).toHaveLength(3);
    expect(decodeTrunkMessage(sent[2]!)).toHaveLength(1);
  });

  it('sends nothing it discarded', async () => {
    const sent: Buffer[] = [];
    const writer = new TrunkWriter((message) => sent.push(message));
    writer.write(1, TrunkRecordKind.frame, 'lost');
    writer.discard();
    await afterTurn();
    writer.flush();
    expect(sent).toHaveLength(0);
  });

  it('refuses truncated records, truncated payloads and unknown kinds', () => {
    const record = (kind: number, length: number, payloadBytes: number) => {
      const message = Buffer.alloc(9 + payloadBytes);
      message.writeUInt32BE(1, 0);
      message[4] = kind;
      message.writeUInt32BE(length, 5);
      return message;
    };
    expect(() => decodeTrunkMessage(record(2, 3, 3).subarray(0, 8))).toThrow(TrunkProtocolError);
    expect(() => decodeTrunkMessage(record(2, 4, 3))).toThrow(TrunkProtocolError);
    expect(() => decodeTrunkMessage(record(9, 0, 0))).toThrow(TrunkProtocolError);
    expect(() => decodeTrunkMessage(record(0, 0, 0))).toThrow(TrunkProtocolError);
    expect(decodeTrunkMessage(record(2, 3, 3))).toHaveLength(1);
    expect(decodeTrunkMessage(Buffer.alloc(0))).toEqual([]);
  });

  it('reads a received message as records, or says why it is not a trunk message', () => {
    const sent: Buffer[] = [];
    const writer = new TrunkWriter((message) => sent.push(message));
    writer.write(3, TrunkRecordKind.frame, 'x');
    writer.flush();
    const read = readTrunkMessage(sent[0], true);
    expect('records' in read && read.records.map((record) => record.channel)).toEqual([3]);
    expect(readTrunkMessage(sent[0], false)).toEqual({ malformed: 'not a binary message' });
    expect(readTrunkMessage([sent[0]], true)).toEqual({ malformed: 'not a binary message' });
    expect(readTrunkMessage(sent[0]!.subarray(0, 5), true)).toEqual({
      malformed: 'truncated record',
    });
  });

  it('reads a close without a code as 1005 and keeps reasons short', () => {
    expect(decodeTrunkClose(Buffer.alloc(1))).toEqual({ code: 1005, reason: '' });
    const { reason } = decodeTrunkClose(encodeTrunkClose(1000, 'r'.repeat(500)));
    expect(reason.length).toBeLessThanOrEqual(123);
  });
});
