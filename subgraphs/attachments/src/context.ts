import type { BaseContext } from '@courier/server';
import type { AttachmentLimits } from './services/attachment-limits.ts';

/** The attachments subgraph's GraphQL context. */
export interface AttachmentsContext extends BaseContext {
  readonly limits: AttachmentLimits;
}
