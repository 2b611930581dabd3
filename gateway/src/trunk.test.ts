import type { AddressInfo } from 'node:net';
import { TRUNK_PROTOCOL, TrunkRecordKind, readTrunkMessage } from '@courier/schema';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { SubgraphTrunk } from './trunk.ts';

const SECRET = 'trunk-test-router-secret-0123456789abcdef';

/** A trunk peer on a free port that answers pings only when `autoPong`. */
async function peer(autoPong: boolean) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong });
  await new Promise((resolve) => server.once('listening', resolve));
  const sockets: WebSocket[] = [];
  const received: number[] = [];
  server.on('connection', (socket, request) => {
    expect(request.headers['x-router-secret']).toBe(SECRET);
    expect(socket.protocol).toBe(TRUNK_PROTOCOL);
    sockets.push(socket);
    socket.on('message', (data, isBinary) => {
      const message = readTrunkMessage(data, isBinary);
      if ('records' in message) for (const record of message.records) received.push(record.kind);
    });
  });
  const { port } = server.address() as AddressInfo;
  return { server, sockets, received, url: `http://127.0.0.1:${port}/graphql` };
}

describe('SubgraphTrunk', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('cuts a trunk whose subgraph stops answering pings, ending its channels as lost', async () => {
    const silent = await peer(false);
    cleanups.push(() => silent.server.close());
    const trunk = new SubgraphTrunk({
      url: silent.url,
      routerSecret: SECRET,
      maxFrameBytes: 1024,
      keepAliveMs: 20,
    });
    cleanups.push(() => trunk.close());
    const closed = vi.fn();
    const channel = trunk.open({ frame: () => undefined, closed });
    channel.send('{"type":"connection_init"}');
    await vi.waitFor(() =>
      expect(silent.received).toEqual([TrunkRecordKind.open, TrunkRecordKind.frame]),
    );
    await vi.waitFor(() => expect(closed).toHaveBeenCalledWith(1006, 'Trunk lost'));
  });

  it('keeps a trunk whose subgraph answers pings', async () => {
    const answering = await peer(true);
    cleanups.push(() => answering.server.close());
    const trunk = new SubgraphTrunk({
      url: answering.url,
      routerSecret: SECRET,
      maxFrameBytes: 1024,
      keepAliveMs: 20,
    });
    cleanups.push(() => trunk.close());
    const closed = vi.fn();
    trunk.open({ frame: () => undefined, closed });
    const pings = vi.fn();
    await vi.waitFor(() => expect(answering.sockets).toHaveLength(1));
    answering.sockets[0]!.on('ping', pings);
    await vi.waitFor(() => expect(pings.mock.calls.length).toBeGreaterThanOrEqual(5));
    expect(closed).not.toHaveBeenCalled();
  });
});
