import type { BaseContext } from '@courier/server';
import type { CertificateService } from './services/certificate-service.ts';
import type { DeliveryService } from './services/delivery-service.ts';
import type { MultiRecipientSendService } from './services/multi-recipient-service.ts';
import type { SendService } from './services/send-service.ts';

/** The messages subgraph's GraphQL context. */
export interface MessagesContext extends BaseContext {
  readonly certificates: CertificateService;
  readonly delivery: DeliveryService;
  readonly sender: SendService;
  readonly multiRecipient: MultiRecipientSendService;
}
