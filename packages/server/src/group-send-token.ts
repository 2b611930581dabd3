import { ForbiddenError, UnauthenticatedError } from '@courier/errors';
import { LRUCache } from 'lru-cache';
import { ServiceId as LibsignalServiceId } from '@signalapp/libsignal-client/dist/Address.js';
import {
  GroupSendDerivedKeyPair,
  GroupSendFullToken,
  type ServerSecretParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';

/** Largest serialized group send full token accepted (real ones are about 50 bytes). */
export const MAX_GROUP_SEND_TOKEN_BYTES = 1024;

/** Why {@link checkGroupSendToken} refused a token. */
export type GroupSendTokenProblem = 'malformed' | 'expired' | 'invalid';

/** The answer of {@link checkGroupSendToken}. */
export type GroupSendTokenCheck =
  | { readonly ok: true; readonly expiration: Date }
  | { readonly ok: false; readonly problem: GroupSendTokenProblem };

/**
 * Derived endorsement key pairs by expiration (ms). Tokens and endorsements of one day share a
 * key pair, and deriving one costs about as much as a verification, so each process keeps the
 * few it meets (the least recently used go first). Keyed by params too: tests run several
 * platforms (several params) in one process.
 */
const keyPairs = new WeakMap<ServerSecretParams, LRUCache<number, GroupSendDerivedKeyPair>>();
const MAX_CACHED_KEY_PAIRS = 8;

/**
 * The group send endorsement key pair of `params` for endorsements expiring at `expiration`
 * (cached; see above): what groups issues endorsements with and what a token is checked against.
 */
export function groupSendKeyPair(
  params: ServerSecretParams,
  expiration: Date,
): GroupSendDerivedKeyPair {
  let byExpiration = keyPairs.get(params);
  if (!byExpiration) {
    byExpiration = new LRUCache({ max: MAX_CACHED_KEY_PAIRS });
    keyPairs.set(params, byExpiration);
  }
  let keyPair = byExpiration.get(expiration.getTime());
  if (!keyPair) {
    keyPair = GroupSendDerivedKeyPair.forExpiration(expiration, params);
    byExpiration.set(expiration.getTime(), keyPair);
  }
  return keyPair;
}

function libsignalServiceId(serviceId: string): LibsignalServiceId {
  return LibsignalServiceId.parseFromServiceIdString(serviceId);
}

/**
 * Checks a group send full token (Signal's `Group-Send-Token`): that the zkgroup server params
 * `params` endorsed exactly the set `serviceIds` (`<aci>` / `PNI:<pni>`, order irrelevant) for
 * a group the presenter is in, and that the token has not expired at `now`. The token carries
 * its own (day-aligned) expiration; the key pair is derived from it.
 */
export function checkGroupSendToken(
  params: ServerSecretParams,
  token: Uint8Array,
  serviceIds: readonly string[],
  now: Date = new Date(),
): GroupSendTokenCheck {
  if (token.length === 0 || token.length > MAX_GROUP_SEND_TOKEN_BYTES) {
    return { ok: false, problem: 'malformed' };
  }
  let fullToken: GroupSendFullToken;
  let expiration: Date;
  let ids: LibsignalServiceId[];
  try {
    fullToken = new GroupSendFullToken(new Uint8Array(token));
    expiration = fullToken.getExpiration();
    ids = serviceIds.map(libsignalServiceId);
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  if (expiration.getTime() <= now.getTime()) return { ok: false, problem: 'expired' };
  try {
    fullToken.verify(ids, groupSendKeyPair(params, expiration), now);
  } catch {
    return { ok: false, problem: 'invalid' };
  }
  return { ok: true, expiration };
}

/**
 * {@link checkGroupSendToken} as a guard: returns the token's expiration when it endorses
 * `serviceIds`. A malformed or expired token is `UNAUTHENTICATED` (the client should fetch
 * fresh endorsements); a well-formed token that does not endorse this set of recipients is
 * `FORBIDDEN`, as Signal answers 401 and 403.
 *
 * @throws UnauthenticatedError | ForbiddenError
 */
export function verifyGroupSendToken(
  params: ServerSecretParams,
  token: Uint8Array,
  serviceIds: readonly string[],
  now: Date = new Date(),
): Date {
  const check = checkGroupSendToken(params, token, serviceIds, now);
  if (check.ok) return check.expiration;
  if (check.problem === 'invalid') {
    throw new ForbiddenError('Group send token does not endorse these recipients');
  }
  throw new UnauthenticatedError(
    check.problem === 'expired' ? 'Group send token expired' : 'Malformed group send token',
  );
}
