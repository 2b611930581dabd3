/** Limits the attachments subgraph applies (the public `attachmentLimits` answer and more). */
export interface AttachmentLimits {
  /** Largest attachment upload in bytes. */
  readonly maxUploadBytes: number;
  /** Largest avatar upload in bytes. */
  readonly maxAvatarBytes: number;
  /** How long an upload form (its credential) is accepted, in seconds. */
  readonly uploadFormTtlSeconds: number;
  /** How long an attachment is kept after its upload started, in seconds. */
  readonly retentionSeconds: number;
}

const DAY_SECONDS = 86_400;

/**
 * Defaults: 100 MiB uploads (Signal's client cap), 10 MiB avatars (Signal's profile avatar
 * limit), forms valid 1 h (a 100 MiB upload at 1 Mbit/s takes ~14 min; a client resumes within
 * the hour or asks for a new form), attachments kept 45 days (Signal's attachment retention).
 */
export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxUploadBytes: 100 * 1024 * 1024,
  maxAvatarBytes: 10 * 1024 * 1024,
  uploadFormTtlSeconds: 3600,
  retentionSeconds: 45 * DAY_SECONDS,
};

/** Retention in whole days, rounded up (the public `retentionDays` field). */
export function retentionDays(limits: AttachmentLimits): number {
  return Math.ceil(limits.retentionSeconds / DAY_SECONDS);
}
