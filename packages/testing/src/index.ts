export * from './database.ts';
export * from './env.ts';
export * from './graphql-client.ts';
export * from './platform.ts';
export * from './signal-client.ts';
export * from './accounts.ts';
export * from './signal-stores.ts';
export * from './prekeys.ts';
