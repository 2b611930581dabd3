import type { BaseContext } from '@courier/server';
import type { DeliveryService } from './services/delivery-service.ts';
import type { SendService } from './services/send-service.ts';

/** The messages subgraph's GraphQL context. */
export interface MessagesContext extends BaseContext {
  readonly delivery: DeliveryService;
  readonly sender: SendService;
}
