/**
 * `source` with `map` applied to each value. `return` goes straight to `source`, so a stream
 * waiting for its next value ends at once: an async generator (`for await … yield`) would only
 * end once that value came, and a subscription whose client left would wait for its device's
 * next envelope.
 */
export function mapAsyncIterator<S, T>(
  source: AsyncIterable<S>,
  map: (value: S) => Promise<T> | T,
): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const mapped = async (result: IteratorResult<S>): Promise<IteratorResult<T>> =>
    result.done
      ? { done: true, value: undefined }
      : { done: false, value: await map(result.value) };
  const events: AsyncIterableIterator<T> = {
    next: async () => mapped(await iterator.next()),
    return: async () => {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    throw: async (error: unknown) => {
      if (iterator.throw) return mapped(await iterator.throw(error));
      throw error;
    },
    [Symbol.asyncIterator]: () => events,
  };
  return events;
}
