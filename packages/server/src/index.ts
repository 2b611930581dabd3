export * from './context.ts';
export * from './permissions.ts';
export * from './subgraph-server.ts';
export * from './scalars.ts';
export * from './runtime.ts';
export * from './schema-file.ts';
export type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
export * from './internal-api.ts';
export * from './credentials.ts';
export * from './accounts-client.ts';
export * from './block-list-versions.ts';
export * from './unidentified-access.ts';
export * from './service-id.ts';
export * from './zk-params.ts';
export * from './group-send-token.ts';
export * from './metrics.ts';
export { mapAsyncIterator } from './async-iterators.ts';
export {
  shutdownTracing,
  startTracing,
  tracingEnabled,
  tracingStarted,
  type Tracing,
  type TracingSettings,
} from './tracing.ts';
