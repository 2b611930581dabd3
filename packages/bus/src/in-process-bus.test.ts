import { describe, expect, it } from 'vitest';
import { BusClosedError, BusOverflowError, type BusErrorContext } from './bus.ts';
import { createBus } from './create-bus.ts';
import { InProcessBus } from './in-process-bus.ts';
import { Collector, bytes, decode, text } from './test-support.ts';

describe('InProcessBus', () => {
  it('delivers a published message to every handler of the channel, asynchronously', async () => {
    await using bus = new InProcessBus();
    const first = new Collector();
    const second = new Collector();
    const other = new Collector();
    await bus.subscribe('a', first.handler);
    await bus.subscribe('a', second.handler);
    await bus.subscribe('b', other.handler);

    await bus.publish('a', text('hello'));
    expect(first.messages).toHaveLength(0);

    const [[fromFirst], [fromSecond]] = await Promise.all([first.until(1), second.until(1)]);
    expect(decode(fromFirst!)).toBe('hello');
    expect(decode(fromSecond!)).toBe('hello');

    await bus.publish('b', text('barrier'));
    await other.until(1);
    expect(first.messages).toHaveLength(1);
    expect(other.messages.map(decode)).toEqual(['barrier']);
  });

  it('copies the message at publish time and keeps binary content intact', async () => {
    await using bus = new InProcessBus();
    const collector = new Collector();
    await bus.subscribe('bin', collector.handler);
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    await bus.publish('bin', payload);
    payload.fill(0);
    const [received] = await collector.until(1);
    expect(received).toEqual(Uint8Array.from({ length: 256 }, (_, i) => i));
  });

  it('keeps publish order', async () => {
    await using bus = new InProcessBus();
    const collector = new Collector();
    await bus.subscribe('ordered', collector.handler);
    await Promise.all(Array.from({ length: 200 }, (_, i) => bus.publish('ordered', bytes(i))));
    const received = await collector.until(200);
    expect(received.map((message) => message[0])).toEqual(
      Array.from({ length: 200 }, (_, i) => i & 0xff),
    );
  });

  it('does not deliver to a handler subscribed after the publish', async () => {
    await using bus = new InProcessBus();
    const early = new Collector();
    const late = new Collector();
    await bus.subscribe('c', early.handler);
    await bus.publish('c', text('one'));
    await bus.subscribe('c', late.handler);
    await bus.publish('c', text('two'));
    await early.until(2);
    const [seen] = await late.until(1);
    expect(decode(seen!)).toBe('two');
    expect(late.messages).toHaveLength(1);
  });

  it('stops delivery at unsubscribe, even for messages already in flight', async () => {
    await using bus = new InProcessBus();
    const leaving = new Collector();
    const staying = new Collector();
    const unsubscribe = await bus.subscribe('d', leaving.handler);
    await bus.subscribe('d', staying.handler);
    expect(bus.handlerCount('d')).toBe(2);

    await bus.publish('d', text('in flight'));
    await unsubscribe();
    await unsubscribe();
    expect(bus.handlerCount('d')).toBe(1);
    await bus.publish('d', text('after'));

    await staying.until(2);
    expect(leaving.messages).toHaveLength(0);
  });

  it('reports a throwing handler and still delivers to the others', async () => {
    const errors: [unknown, BusErrorContext][] = [];
    await using bus = new InProcessBus({
      onError: (error, context) => errors.push([error, context]),
    });
    const collector = new Collector();
    await bus.subscribe('e', () => {
      throw new Error('boom');
    });
    await bus.subscribe('e', async () => {
      throw new Error('async boom');
    });
    await bus.subscribe('e', collector.handler);
    await bus.publish('e', text('x'));
    await collector.until(1);
    await Promise.resolve();
    expect(errors.map(([error]) => (error as Error).message)).toEqual(['boom', 'async boom']);
    expect(errors[0]![1]).toEqual({ source: 'handler', channel: 'e' });
  });

  it('rejects bad arguments', async () => {
    await using bus = new InProcessBus();
    await expect(bus.publish('', bytes(1))).rejects.toThrow(TypeError);
    await expect(bus.publish('x', 'text' as unknown as Uint8Array)).rejects.toThrow(TypeError);
    await expect(bus.subscribe('', () => undefined)).rejects.toThrow(TypeError);
    await expect(bus.iterate('x', { bufferSize: 0 })).rejects.toThrow(RangeError);
    expect(bus.handlerCount('x')).toBe(0);
  });

  describe('iterate', () => {
    it('yields messages in order', async () => {
      await using bus = new InProcessBus();
      const iterator = await bus.iterate('it');
      await bus.publish('it', text('1'));
      await bus.publish('it', text('2'));
      const first = await iterator.next();
      const second = await iterator.next();
      expect([decode(first.value!), decode(second.value!)]).toEqual(['1', '2']);
      await iterator.return();
    });

    it('return() while a consumer awaits next() resolves it done and unsubscribes', async () => {
      await using bus = new InProcessBus();
      const iterator = await bus.iterate('it');
      expect(bus.handlerCount('it')).toBe(1);
      const pending = iterator.next();
      await expect(iterator.return()).resolves.toEqual({ value: undefined, done: true });
      await expect(pending).resolves.toEqual({ value: undefined, done: true });
      expect(bus.handlerCount('it')).toBe(0);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('unsubscribes when a for-await loop breaks', async () => {
      await using bus = new InProcessBus();
      const iterator = await bus.iterate('loop');
      await bus.publish('loop', text('only'));
      const seen: string[] = [];
      for await (const message of iterator) {
        seen.push(decode(message));
        break;
      }
      expect(seen).toEqual(['only']);
      expect(bus.handlerCount('loop')).toBe(0);
    });

    it('errors after the buffered messages when the consumer falls behind', async () => {
      await using bus = new InProcessBus();
      const iterator = await bus.iterate('slow', { bufferSize: 2 });
      const barrier = new Collector();
      await bus.subscribe('slow', barrier.handler);
      for (const value of ['1', '2', '3', '4']) await bus.publish('slow', text(value));
      await barrier.until(4);
      expect(bus.handlerCount('slow')).toBe(1);
      expect(decode((await iterator.next()).value!)).toBe('1');
      expect(decode((await iterator.next()).value!)).toBe('2');
      await expect(iterator.next()).rejects.toBeInstanceOf(BusOverflowError);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('drops the oldest messages under drop-oldest', async () => {
      await using bus = new InProcessBus();
      const iterator = await bus.iterate('lossy', { bufferSize: 2, overflow: 'drop-oldest' });
      const barrier = new Collector();
      await bus.subscribe('lossy', barrier.handler);
      for (const value of ['1', '2', '3', '4']) await bus.publish('lossy', text(value));
      await barrier.until(4);
      expect(decode((await iterator.next()).value!)).toBe('3');
      expect(decode((await iterator.next()).value!)).toBe('4');
      expect(bus.handlerCount('lossy')).toBe(2);
      await iterator.return();
    });

    it('ends when its abort signal fires', async () => {
      await using bus = new InProcessBus();
      const controller = new AbortController();
      const iterator = await bus.iterate('abort', { signal: controller.signal });
      const pending = iterator.next();
      controller.abort();
      await expect(pending).resolves.toEqual({ value: undefined, done: true });
      expect(bus.handlerCount('abort')).toBe(0);

      const aborted = await bus.iterate('abort', { signal: AbortSignal.abort() });
      await expect(aborted.next()).resolves.toEqual({ value: undefined, done: true });
      expect(bus.handlerCount('abort')).toBe(0);
    });

    it('throw() ends the iterator and rethrows', async () => {
      await using bus = new InProcessBus();
      const iterator = await bus.iterate('throw');
      const failure = new Error('consumer gave up');
      await expect(iterator.throw(failure)).rejects.toBe(failure);
      expect(bus.handlerCount('throw')).toBe(0);
    });
  });

  it('close() ends iterators, refuses further use and is idempotent', async () => {
    const bus = new InProcessBus();
    const iterator = await bus.iterate('z');
    const pending = iterator.next();
    await bus.subscribe('z', () => undefined);
    await Promise.all([bus.close(), bus.close()]);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(bus.handlerCount('z')).toBe(0);
    await expect(bus.publish('z', bytes(1))).rejects.toBeInstanceOf(BusClosedError);
    await expect(bus.subscribe('z', () => undefined)).rejects.toBeInstanceOf(BusClosedError);
    await expect(bus.iterate('z')).rejects.toBeInstanceOf(BusClosedError);
    await bus[Symbol.asyncDispose]();
  });
});

describe('createBus', () => {
  it('returns an in-process bus without a Redis URL', async () => {
    await using bus = createBus({ channelPrefix: 'courier:' });
    expect(bus).toBeInstanceOf(InProcessBus);
    await using alsoInProcess = createBus({ channelPrefix: 'courier:', redisUrl: '' });
    expect(alsoInProcess).toBeInstanceOf(InProcessBus);
  });

  it('requires a channel prefix', () => {
    expect(() => createBus({ channelPrefix: '' })).toThrow(TypeError);
  });
});
