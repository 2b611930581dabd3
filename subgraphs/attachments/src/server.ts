import {
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';
import { DEFAULT_ATTACHMENT_LIMITS } from './services/attachment-limits.ts';

/** The attachments subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** Builds the attachments subgraph on a shared runtime (not yet listening). */
export function createAttachmentsServer(runtime: SubgraphRuntime): SubgraphServer {
  return createSubgraphServer(
    { name: 'attachments', typeDefs, resolvers, permissions },
    {
      ...serverOptionsFrom(runtime, 'attachments'),
      buildContext: (base) => ({ ...base, limits: DEFAULT_ATTACHMENT_LIMITS }),
    },
  );
}
