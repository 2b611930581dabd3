import type { AddressInfo } from 'node:net';
import { createLogger } from '@courier/logging';
import {
  TRUNK_PROTOCOL,
  TrunkRecordKind,
  TrunkWriter,
  decodeTrunkClose,
  readTrunkMessage,
} from '@courier/schema';
import { makeServer } from 'graphql-ws';
import { buildSchema } from 'graphql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { serveTrunks, type GraphqlWsExtra } from './trunk-server.ts';

const logger = createLogger({ name: 'trunk-server-test', level: 'silent' });
const schema = buildSchema('type Query { ok: Boolean }');

describe('serveTrunks', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('closes with 1009 a channel that sends a message over the limit, and only that channel', async () => {
    const wsServer = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wsServer.once('listening', resolve));
    const trunks = serveTrunks(
      wsServer,
      makeServer<Record<string, unknown>, GraphqlWsExtra>({ schema }),
      {
        subgraph: 'test',
        logger,
        maxFrameBytes: 100,
      },
    );
    cleanups.push(() => trunks.dispose());
    const { port } = wsServer.address() as AddressInfo;
    const client = new WebSocket(`ws://127.0.0.1:${port}`, TRUNK_PROTOCOL);
    cleanups.push(() => client.terminate());
    const received: { channel: number; kind: number; payload: Buffer }[] = [];
    client.on('message', (data, isBinary) => {
      const message = readTrunkMessage(data, isBinary);
      if ('records' in message) received.push(...message.records);
    });
    await new Promise((resolve) => client.once('open', resolve));
    const writer = new TrunkWriter((message) => client.send(message, { binary: true }));
    const init = JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(40) } });
    writer.write(1, TrunkRecordKind.open);
    writer.write(
      1,
      TrunkRecordKind.frame,
      JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(200) } }),
    );
    writer.write(2, TrunkRecordKind.open);
    writer.write(2, TrunkRecordKind.frame, init);
    writer.flush();
    await vi.waitFor(() => expect(received).toHaveLength(2));
    const recordOf = (channel: number) => received.find((record) => record.channel === channel)!;
    const [first, second] = [recordOf(1), recordOf(2)];
    expect(first.kind).toBe(TrunkRecordKind.close);
    expect(decodeTrunkClose(first.payload).code).toBe(1009);
    expect(second.kind).toBe(TrunkRecordKind.frame);
    expect(JSON.parse(second.payload.toString('utf8'))).toEqual({ type: 'connection_ack' });
  });
});
