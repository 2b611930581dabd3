/** Limits the groups subgraph applies (Signal's storage-service values where it has them). */
export interface GroupLimits {
  /** Most full plus invited (pending) members; requesting members are counted apart. */
  readonly maxMembers: number;
  readonly maxTitleBytes: number;
  readonly maxDescriptionBytes: number;
  /** Largest encrypted disappearing-message timer blob. */
  readonly maxTimerBytes: number;
  /** Longest avatar key (characters). */
  readonly maxAvatarLength: number;
  /** Largest encoded group (createGroup) or actions (modifyGroup) input. */
  readonly maxInputBytes: number;
  readonly changesPageSize: number;
}

/**
 * Signal's defaults: 1000 members, encrypted title ≤ 1024 B, description ≤ 8192 B, log pages
 * of 64; timer blob ≤ 256 B, avatar key ≤ 256 characters, inputs ≤ 2 MiB (a 1000-member
 * group with profile key presentations fits).
 */
export const DEFAULT_GROUP_LIMITS: GroupLimits = {
  maxMembers: 1000,
  maxTitleBytes: 1024,
  maxDescriptionBytes: 8192,
  maxTimerBytes: 256,
  maxAvatarLength: 256,
  maxInputBytes: 2 * 1024 * 1024,
  changesPageSize: 64,
};
