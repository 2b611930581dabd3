import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClosedError } from './bus.ts';
import { createBus } from './create-bus.ts';
import { RedisBus, type RedisBusOptions } from './redis-bus.ts';
import { Collector, decode, text } from './test-support.ts';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

let admin: Redis;

beforeAll(() => {
  admin = new Redis(REDIS_URL);
});

afterAll(async () => {
  await admin.quit();
});

/** A unique prefix, so tests never see each other's channels. */
function uniquePrefix(): string {
  return `courier-test:bus:${randomUUID()}:`;
}

function newBus(channelPrefix: string, options: Partial<RedisBusOptions> = {}): RedisBus {
  return new RedisBus({ url: REDIS_URL, channelPrefix, ...options });
}

function hex(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
}

async function numsub(channel: string): Promise<number> {
  const reply = (await admin.pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

describe('RedisBus', () => {
  it('delivers what instance A publishes to instance B', async () => {
    const prefix = uniquePrefix();
    await using a = newBus(prefix);
    await using b = newBus(prefix);
    const collector = new Collector();
    await b.subscribe('device:1', collector.handler);
    await a.publish('device:1', text('hello from A'));
    const [received] = await collector.until(1);
    expect(decode(received!)).toBe('hello from A');
    expect(await numsub(`${prefix}device:1`)).toBe(1);
  });

  it('keeps binary payloads intact and in order', async () => {
    const prefix = uniquePrefix();
    await using a = newBus(prefix);
    await using b = newBus(prefix);
    const collector = new Collector();
    await b.subscribe('bin', collector.handler);
    const everyByte = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
    const invalidUtf8 = Uint8Array.of(0xc3, 0x28, 0x00, 0xff, 0xfe, 0x0d, 0x0a);
    const large = new Uint8Array(randomBytes(1 << 20));
    const view = everyByte.subarray(3, 9);
    for (const payload of [everyByte, invalidUtf8, large, view, new Uint8Array(0)]) {
      await a.publish('bin', payload);
    }
    const expected = [everyByte, invalidUtf8, large, everyByte.slice(3, 9), new Uint8Array(0)];
    const received = await collector.until(5);
    expect(received.map(hex)).toEqual(expected.map(hex));
    expect(received.every((message) => !Buffer.isBuffer(message))).toBe(true);
  });

  it('keeps order when many publishes leave in one turn (auto-pipelined)', async () => {
    const prefix = uniquePrefix();
    await using a = newBus(prefix);
    await using b = newBus(prefix);
    const first = new Collector();
    const second = new Collector();
    await b.subscribe('one', first.handler);
    await b.subscribe('two', second.handler);
    const count = 500;
    await Promise.all(
      Array.from({ length: count }, (_, i) => a.publish(i % 2 ? 'two' : 'one', text(String(i)))),
    );
    const odd = Array.from({ length: count / 2 }, (_, i) => String(2 * i + 1));
    const even = Array.from({ length: count / 2 }, (_, i) => String(2 * i));
    expect((await first.until(count / 2)).map(decode)).toEqual(even);
    expect((await second.until(count / 2)).map(decode)).toEqual(odd);
  });

  it('holds one Redis subscription per channel and releases it with the last handler', async () => {
    const prefix = uniquePrefix();
    await using a = newBus(prefix);
    await using b = newBus(prefix);
    const channel = `${prefix}shared`;
    const leaving = new Collector();
    const staying = new Collector();
    const unsubscribeLeaving = await b.subscribe('shared', leaving.handler);
    const unsubscribeStaying = await b.subscribe('shared', staying.handler);
    const iterator = await b.iterate('shared');
    expect(b.handlerCount('shared')).toBe(3);
    expect(await numsub(channel)).toBe(1);

    await unsubscribeLeaving();
    expect(await numsub(channel)).toBe(1);
    await a.publish('shared', text('after one left'));
    await staying.until(1);
    expect(decode((await iterator.next()).value!)).toBe('after one left');
    expect(leaving.messages).toHaveLength(0);

    await iterator.return();
    expect(await numsub(channel)).toBe(1);
    await unsubscribeStaying();
    expect(b.handlerCount('shared')).toBe(0);
    expect(await numsub(channel)).toBe(0);
    expect(await admin.publish(channel, 'nobody listens')).toBe(0);
  });

  it('stays subscribed when a handler arrives just as the last one leaves', async () => {
    const prefix = uniquePrefix();
    await using a = newBus(prefix);
    await using b = newBus(prefix);
    const unsubscribe = await b.subscribe('again', () => undefined);
    const arriving = new Collector();
    const [, second] = await Promise.all([unsubscribe(), b.subscribe('again', arriving.handler)]);
    expect(await numsub(`${prefix}again`)).toBe(1);
    await a.publish('again', text('still here'));
    expect(decode((await arriving.until(1))[0]!)).toBe('still here');
    await second();
    expect(await numsub(`${prefix}again`)).toBe(0);
  });

  it('iterator return() while awaiting next() resolves it and unsubscribes', async () => {
    const prefix = uniquePrefix();
    await using a = newBus(prefix);
    await using b = newBus(prefix);
    const iterator = await b.iterate('it');
    await a.publish('it', text('first'));
    expect(decode((await iterator.next()).value!)).toBe('first');

    const pending = iterator.next();
    await expect(iterator.return()).resolves.toEqual({ value: undefined, done: true });
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(await numsub(`${prefix}it`)).toBe(0);
  });

  it('resubscribes after the subscriber connection is lost', async () => {
    const prefix = uniquePrefix();
    const connectionName = `courier-test-${randomUUID()}`;
    let resubscribed!: (channels: readonly string[]) => void;
    const resubscription = new Promise<readonly string[]>((resolve) => (resubscribed = resolve));
    await using a = newBus(prefix);
    await using b = newBus(prefix, {
      redisOptions: { connectionName },
      onResubscribe: (channels) => resubscribed(channels),
      onError: () => undefined,
    });
    const collector = new Collector();
    await b.subscribe('survivor', collector.handler);

    const clients = (await admin.client('LIST')) as string;
    const line = clients
      .split('\n')
      .find((entry) => entry.includes(` name=${connectionName}:sub `));
    const id = /(?:^|\s)id=(\d+)/.exec(line ?? '')?.[1];
    expect(id).toBeDefined();
    await admin.client('KILL', 'ID', id!);

    expect(await resubscription).toEqual(['survivor']);
    expect(await numsub(`${prefix}survivor`)).toBe(1);
    await a.publish('survivor', text('after reconnect'));
    const [received] = await collector.until(1);
    expect(decode(received!)).toBe('after reconnect');
  });

  it('close() quits both connections, ends iterators and refuses further use', async () => {
    const prefix = uniquePrefix();
    const connectionName = `courier-test-${randomUUID()}`;
    const bus = newBus(prefix, { redisOptions: { connectionName } });
    const iterator = await bus.iterate('closing');
    await bus.publish('closing', text('warm-up'));
    await iterator.next();
    expect(await admin.client('LIST')).toContain(`name=${connectionName}:pub `);

    const pending = iterator.next();
    await Promise.all([bus.close(), bus.close()]);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(await numsub(`${prefix}closing`)).toBe(0);
    expect(await admin.client('LIST')).not.toContain(`name=${connectionName}:`);
    await expect(bus.publish('closing', text('late'))).rejects.toBeInstanceOf(BusClosedError);
    await expect(bus.subscribe('closing', () => undefined)).rejects.toBeInstanceOf(BusClosedError);
  });

  it('closes cleanly before it ever connected', async () => {
    const bus = newBus(uniquePrefix());
    await bus.close();
    expect(bus.closed).toBe(true);
  });

  it('requires a channel prefix', () => {
    expect(() => new RedisBus({ url: REDIS_URL, channelPrefix: '' })).toThrow(TypeError);
  });
});

describe('createBus with a Redis URL', () => {
  it('returns a RedisBus that talks to the other instances', async () => {
    const prefix = uniquePrefix();
    await using a = createBus({ redisUrl: REDIS_URL, channelPrefix: prefix });
    await using b = newBus(prefix);
    expect(a).toBeInstanceOf(RedisBus);
    const collector = new Collector();
    await b.subscribe('factory', collector.handler);
    await a.publish('factory', text('made by createBus'));
    expect(decode((await collector.until(1))[0]!)).toBe('made by createBus');
  });
});
