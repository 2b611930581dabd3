import { allow, isAuthenticated, isPublic } from '@courier/server';

export const permissions = {
  Query: { attachmentLimits: isPublic },
  Mutation: { createAttachmentUploadForm: isAuthenticated },
  AttachmentLimits: allow,
  AttachmentUploadForm: allow,
  AttachmentUploadHeader: allow,
};
