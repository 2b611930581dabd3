import {
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { permissions } from './permissions.ts';
import { EnvelopeChannelRepository } from './repositories/envelope-channel-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { DeliveryService } from './services/delivery-service.ts';

/** The messages subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** A messages server and the services other in-process code (tests, jobs) may call. */
export interface MessagesServer extends SubgraphServer {
  readonly delivery: DeliveryService;
}

/** Builds the messages subgraph on a shared runtime (not yet listening). */
export function createMessagesServer(runtime: SubgraphRuntime): MessagesServer {
  const delivery = new DeliveryService(new EnvelopeChannelRepository(runtime.bus));
  const server = createSubgraphServer(
    { name: 'messages', typeDefs, resolvers, permissions, subscriptions: true },
    { ...serverOptionsFrom(runtime, 'messages'), buildContext: (base) => ({ ...base, delivery }) },
  );
  return Object.assign(server, { delivery });
}
