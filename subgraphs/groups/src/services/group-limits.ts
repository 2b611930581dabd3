/** Limits the groups subgraph applies (Signal's storage-service values). */
export interface GroupLimits {
  readonly maxMembers: number;
  readonly maxTitleBytes: number;
  readonly maxDescriptionBytes: number;
  readonly changesPageSize: number;
}

/** Signal's defaults: 1000 members, encrypted title ≤ 1024 B, description ≤ 8192 B, log pages of 64. */
export const DEFAULT_GROUP_LIMITS: GroupLimits = {
  maxMembers: 1000,
  maxTitleBytes: 1024,
  maxDescriptionBytes: 8192,
  changesPageSize: 64,
};
