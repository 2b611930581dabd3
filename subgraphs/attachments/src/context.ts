import type { BaseContext } from '@courier/server';
import type { AttachmentLimits } from './services/attachment-limits.ts';
import type { UploadFormService } from './services/upload-form-service.ts';

/** The attachments subgraph's GraphQL context. */
export interface AttachmentsContext extends BaseContext {
  readonly limits: AttachmentLimits;
  readonly forms: UploadFormService;
}
