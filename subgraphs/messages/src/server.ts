import {
  AccountsClient,
  createSubgraphServer,
  readSchemaFile,
  serverOptionsFrom,
  type SubgraphRuntime,
  type SubgraphServer,
} from '@courier/server';
import {
  loadSenderCertificateKeys,
  type SenderCertificateKeys,
} from './certificates/sender-certificate-keys.ts';
import { KeysClient } from './clients/keys-client.ts';
import { permissions } from './permissions.ts';
import { EnvelopeChannelRepository } from './repositories/envelope-channel-repository.ts';
import { EnvelopeQueueRepository } from './repositories/envelope-queue-repository.ts';
import { resolvers } from './resolvers/index.ts';
import { CertificateService } from './services/certificate-service.ts';
import { DeliveryService } from './services/delivery-service.ts';
import { ReceiptService } from './services/receipt-service.ts';
import { EnvelopeOutbox } from './services/envelope-outbox.ts';
import { MultiRecipientSendService } from './services/multi-recipient-service.ts';
import { SendService } from './services/send-service.ts';

export {
  generateSenderCertificateKeys,
  loadSenderCertificateKeys,
  rotateSenderCertificateKeys,
  senderCertificateKeyTextFromEnv,
  senderCertificateKeysFrom,
  type SenderCertificateKeyText,
  type SenderCertificateKeys,
} from './certificates/sender-certificate-keys.ts';

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
   * The keys subgraph's URL (its internal API serves identity keys for sender certificates); a
   * getter when keys starts listening after messages.
   */
  readonly keysUrl: string | (() => string);
  /**
   * The sender-certificate keys; by default from the environment (`loadSenderCertificateKeys`).
   * Every messages instance must use the same.
   */
  readonly senderCertificateKeys?: SenderCertificateKeys;
  /**
   * How long accounts' answers are reused in this process, in ms (see `AccountsClient`).
   * @default 2000
   */
  readonly accountCacheTtlMs?: number;
  /**
   * How often expired envelopes are purged, in ms.
   * @default 5 minutes
   */
  readonly purgeIntervalMs?: number;
  /**
   * How long an unacknowledged envelope is kept, in ms.
   * @default 30 days
   */
  readonly envelopeTtlMs?: number;
}

/** A messages server and the services other in-process code (tests, jobs) may call. */
export interface MessagesServer extends SubgraphServer {
  readonly certificates: CertificateService;
  readonly delivery: DeliveryService;
  readonly sender: SendService;
  readonly multiRecipient: MultiRecipientSendService;
  /** Where every envelope leaves a send (stored, then published). */
  readonly outbox: EnvelopeOutbox;
}

/** Builds the messages subgraph on a shared runtime (not yet listening). */
export function createMessagesServer(
  runtime: SubgraphRuntime,
  options: MessagesServerOptions,
): MessagesServer {
  const common = serverOptionsFrom(runtime, 'messages');
  const queue = new EnvelopeQueueRepository(runtime.prisma);
  const accounts = new AccountsClient(options.accountsUrl, runtime.routerSecret, {
    ...(options.accountCacheTtlMs === undefined ? {} : { cacheTtlMs: options.accountCacheTtlMs }),
    blockListVersions: runtime.blockListVersions,
  });
  const channels = new EnvelopeChannelRepository(runtime.bus);
  const outbox = new EnvelopeOutbox({
    queue,
    channels,
    logger: common.logger,
    ...(options.envelopeTtlMs === undefined ? {} : { envelopeTtlMs: options.envelopeTtlMs }),
  });
  const receipts = new ReceiptService({ accounts, outbox, logger: common.logger });
  const delivery = new DeliveryService(channels, queue, receipts);
  const certificates = new CertificateService({
    keys:
      options.senderCertificateKeys ??
      loadSenderCertificateKeys({ production: runtime.production, logger: common.logger }),
    identityKeys: new KeysClient(options.keysUrl, runtime.routerSecret),
    accounts,
  });
  const sender = new SendService({ accounts, outbox, limits: runtime.limits });
  const multiRecipient = new MultiRecipientSendService({
    accounts,
    outbox,
    zkSecretParams: runtime.zkSecretParams,
  });
  const server = createSubgraphServer(
    { name: 'messages', typeDefs, resolvers, permissions, subscriptions: true },
    {
      ...common,
      maintenance: [
        {
          name: 'purge expired envelopes',
          intervalMs: options.purgeIntervalMs ?? 5 * 60_000,
          run: () => delivery.purgeExpired(),
        },
      ],
      buildContext: (base) => ({ ...base, certificates, delivery, sender, multiRecipient }),
    },
  );
  return Object.assign(server, { certificates, delivery, sender, multiRecipient, outbox });
}
