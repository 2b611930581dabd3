export * from './context.ts';
export * from './permissions.ts';
export * from './router-secret.ts';
export * from './subgraph-server.ts';
export * from './scalars.ts';
export * from './runtime.ts';
export * from './schema-file.ts';
export * from './async-iterators.ts';
export type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
