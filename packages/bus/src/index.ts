export {
  BusClosedError,
  BusOverflowError,
  warnOnBusError,
  type Bus,
  type BusErrorContext,
  type BusErrorHandler,
  type BusIterator,
  type IterateOptions,
  type MessageHandler,
  type OverflowPolicy,
} from './bus.ts';
export { DEFAULT_ITERATOR_BUFFER_SIZE } from './message-iterator.ts';
export { InProcessBus, type InProcessBusOptions } from './in-process-bus.ts';
export { RedisBus, type RedisBusOptions } from './redis-bus.ts';
export { createBus, type CreateBusOptions } from './create-bus.ts';
