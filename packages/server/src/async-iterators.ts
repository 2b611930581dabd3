/**
 * Maps an async iterator without wrapping it in an async generator, so that `return()` reaches
 * the source at once even while a consumer is waiting in `next()` (an async generator that
 * awaits cannot be stopped from outside — graphql-ws unsubscribes by calling `return()`).
 * `first` values are yielded before the source's.
 */
export function mapAsyncIterator<T, U>(
  source: AsyncIterator<T>,
  map: (value: T) => U,
  first: readonly U[] = [],
): AsyncIterableIterator<U> {
  const pending = [...first];
  let done = false;
  const finish = async (): Promise<IteratorResult<U>> => {
    done = true;
    await source.return?.();
    return { done: true, value: undefined };
  };
  return {
    async next(): Promise<IteratorResult<U>> {
      if (done) return { done: true, value: undefined };
      const queued = pending.shift();
      if (queued !== undefined) return { done: false, value: queued };
      const result = await source.next();
      if (result.done) {
        done = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: map(result.value) };
    },
    return: finish,
    async throw(error?: unknown): Promise<IteratorResult<U>> {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
