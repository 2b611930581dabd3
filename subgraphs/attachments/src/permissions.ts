import { allow, isPublic } from '@courier/server';

export const permissions = {
  Query: { attachmentLimits: isPublic },
  AttachmentLimits: allow,
};
