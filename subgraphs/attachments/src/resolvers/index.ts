import { requireDevice, TimestampScalar, type GraphQLResolverMap } from '@courier/server';
import type { AttachmentsContext } from '../context.ts';
import { retentionDays } from '../services/attachment-limits.ts';

export const resolvers: GraphQLResolverMap<AttachmentsContext> = {
  Timestamp: TimestampScalar,
  Query: {
    attachmentLimits: (_parent, _args, { limits }) => ({
      maxUploadBytes: limits.maxUploadBytes,
      uploadFormTtlSeconds: limits.uploadFormTtlSeconds,
      retentionDays: retentionDays(limits),
      retentionSeconds: limits.retentionSeconds,
    }),
  },
  Mutation: {
    createAttachmentUploadForm: (_parent, args: { uploadLength: number }, context) =>
      context.forms.createAttachmentForm(requireDevice(context).aci, args.uploadLength),
  },
};
