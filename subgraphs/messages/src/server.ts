import {
  AccountsClient,
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import { permissions } from './permissions.ts';
import { EnvelopeChannelRepository } from './repositories/envelope-channel-repository.ts';
import { EnvelopeQueueRepository } from './repositories/envelope-queue-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { DeliveryService } from './services/delivery-service.ts';
import { SendService } from './services/send-service.ts';

/** The messages subgraph's SDL. */
export const typeDefs = readSchemaFile(new URL('../schema.graphql', import.meta.url));

/** What the messages subgraph needs besides the runtime. */
export interface MessagesServerOptions {
  /**
   * The accounts subgraph's URL (its internal API tells a destination's devices and registration
   * ids, and who blocks whom); a getter when accounts starts listening after messages.
   */
  readonly accountsUrl: string | (() => string);
  /**
   * How long accounts' answers are reused in this process, in ms (see `AccountsClient`).
   * @default 2000
   */
  readonly accountCacheTtlMs?: number;
  /**
   * How long an unacknowledged envelope is kept, in ms.
   * @default 30 days
   */
  readonly envelopeTtlMs?: number;
}

/** A messages server and the services other in-process code (tests, jobs) may call. */
export interface MessagesServer extends SubgraphServer {
  readonly delivery: DeliveryService;
  readonly sender: SendService;
}

/** Builds the messages subgraph on a shared runtime (not yet listening). */
export function createMessagesServer(
  runtime: SubgraphRuntime,
  options: MessagesServerOptions,
): MessagesServer {
  const common = serverOptionsFrom(runtime, 'messages');
  const queue = new EnvelopeQueueRepository(runtime.prisma);
  const delivery = new DeliveryService(new EnvelopeChannelRepository(runtime.bus), queue);
  const sender = new SendService({
    accounts: new AccountsClient(options.accountsUrl, runtime.routerSecret, {
      ...(options.accountCacheTtlMs === undefined ? {} : { cacheTtlMs: options.accountCacheTtlMs }),
    }),
    queue,
    delivery,
    limits: runtime.limits,
    logger: common.logger,
    ...(options.envelopeTtlMs === undefined ? {} : { envelopeTtlMs: options.envelopeTtlMs }),
  });
  const server = createSubgraphServer(
    { name: 'messages', typeDefs, resolvers, permissions, subscriptions: true },
    { ...common, buildContext: (base) => ({ ...base, delivery, sender }) },
  );
  return Object.assign(server, { delivery, sender });
}
