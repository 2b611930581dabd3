/** Limits the attachments subgraph applies. */
export interface AttachmentLimits {
  readonly maxUploadBytes: number;
  readonly uploadFormTtlSeconds: number;
  readonly retentionDays: number;
}

/** Defaults: 100 MiB uploads (Signal's client cap), forms valid 1 h, attachments kept 30 days. */
export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxUploadBytes: 100 * 1024 * 1024,
  uploadFormTtlSeconds: 3600,
  retentionDays: 30,
};
