import { randomUUID } from 'node:crypto';
import { createBus } from '@courier/bus';
import { signal } from '@courier/proto';
import { describe, expect, it } from 'vitest';
import type { StoredEnvelope } from '../repositories/envelope-queue-repository.ts';
import { drainThenLive } from './envelope-stream.ts';

function envelope(serverTimestamp: number, ephemeral = false): StoredEnvelope {
  const guid = randomUUID();
  return {
    guid,
    serverTimestamp,
    envelope: signal.Envelope.encode({ serverGuid: guid, serverTimestamp, ephemeral }).finish(),
  };
}

const guidOf = (event: { __typename: string; guid?: string }) =>
  event.__typename === 'QueueEmpty' ? 'QueueEmpty' : event.guid;

describe('drainThenLive', () => {
  it('drains stored envelopes, then QueueEmpty, then live ones, without gaps or duplicates', async () => {
    const bus = createBus({ channelPrefix: 'test:' });
    const live = await bus.iterate('device');
    const stored = [envelope(1), envelope(2), envelope(3)];
    const pages: (string | undefined)[] = [];
    const stream = drainThenLive({
      live,
      pageSize: 2,
      fetchPage: async (after) => {
        pages.push(after?.guid);
        const start = after ? stored.findIndex((e) => e.guid === after.guid) + 1 : 0;
        return stored.slice(start, start + 2);
      },
    });
    // Published after the subscription but before the drain read them: one already stored.
    const fresh = envelope(4);
    await bus.publish('device', stored[2]!.envelope);
    await bus.publish('device', fresh.envelope);
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await stream.next();
      seen.push(guidOf(result.value as { __typename: string; guid?: string }));
    }
    expect(seen).toEqual([...stored.map((e) => e.guid), 'QueueEmpty', fresh.guid]);
    expect(pages).toEqual([undefined, stored[1]!.guid]);

    const waiting = stream.next();
    await stream.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
    await bus.close();
  });

  it('drops online-only envelopes older than 10 s instead of delivering them late', async () => {
    const bus = createBus({ channelPrefix: 'test:' });
    const live = await bus.iterate('device');
    const now = 100_000;
    const stream = drainThenLive({ live, pageSize: 10, fetchPage: async () => [], now: () => now });
    const late = envelope(now - 10_001, true);
    const onTime = envelope(now - 10_000, true);
    const stored = envelope(now - 60_000);
    for (const e of [late, onTime, stored]) await bus.publish('device', e.envelope);
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await stream.next();
      seen.push(guidOf(result.value as { __typename: string; guid?: string }));
    }
    expect(seen).toEqual(['QueueEmpty', onTime.guid, stored.guid]);
    await stream.return!();
    await bus.close();
  });

  it('ends with one Replaced event when a newer connection replaces it', async () => {
    const bus = createBus({ channelPrefix: 'test:' });
    const live = await bus.iterate('device');
    const stream = drainThenLive({ live, pageSize: 10, fetchPage: async () => [] });
    expect((await stream.next()).value).toEqual({ __typename: 'QueueEmpty', empty: true });
    const waiting = stream.next();
    stream.replace();
    expect(await waiting).toEqual({ done: false, value: { __typename: 'Replaced' } });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    await bus.close();
  });
});
