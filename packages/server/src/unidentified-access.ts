import { timingSafeEqual } from 'node:crypto';

/** Size of an unidentified access key (derived by clients from the profile key). */
export const UNIDENTIFIED_ACCESS_KEY_BYTES = 16;
const ZERO_KEY = new Uint8Array(UNIDENTIFIED_ACCESS_KEY_BYTES);

/**
 * Whether `presented` is the account's unidentified access key, compared in constant time. An
 * account without a (well-formed) key matches nothing, and the comparison still runs against a
 * zero key so that its timing does not tell whether the account has one. Callers decide about
 * `unrestrictedUnidentifiedAccess` themselves.
 */
export function unidentifiedAccessKeyMatches(
  stored: Uint8Array | null,
  presented: Uint8Array,
): boolean {
  const storedValid = stored !== null && stored.length === UNIDENTIFIED_ACCESS_KEY_BYTES;
  return (
    presented.length === UNIDENTIFIED_ACCESS_KEY_BYTES &&
    timingSafeEqual(presented, storedValid ? stored : ZERO_KEY) &&
    storedValid
  );
}
