import type Long from 'long';

/**
 * The generated protobuf messages (namespace `signal`): `signal.Envelope` (with
 * `signal.Envelope.Type`), `signal.ProvisioningAddress`, `signal.ProvisioningUuid`,
 * `signal.ProvisionEnvelope`, `signal.ProvisionMessage`, the `signal.ProvisioningVersion` enum, and
 * the group messages `signal.Group`, `signal.GroupChange` (with `signal.GroupChange.Actions`),
 * `signal.AccessControl`, `signal.Member` and `signal.GroupJoinInfo`.
 * Field numbers match Signal's, so bytes are interchangeable with Signal clients.
 *
 * 64-bit fields (`clientTimestamp`, `serverTimestamp`) are typed `number | Long`: encoding accepts
 * either, decoding yields an unsigned `Long`. Convert them with {@link toSafeNumber}. Bytes fields
 * decode as Node `Buffer`s (a `Uint8Array` subclass) that may share memory with the input.
 *
 * @example
 * ```ts
 * const bytes = signal.Envelope.encode({ type: signal.Envelope.Type.CIPHERTEXT, serverTimestamp: Date.now() }).finish();
 * const envelope = signal.Envelope.decode(bytes);
 * const at = toSafeNumber(envelope.serverTimestamp); // ms since the epoch
 * ```
 */
export { signal } from './generated/proto.js';

export type { Long };

/**
 * Converts a protobuf 64-bit integer (a `Long` from decoding, or a number) to a JavaScript number.
 * Absent values (`null`/`undefined`) become 0, as proto defaults do.
 *
 * @throws RangeError when the value is outside the safe integer range (±2^53−1), where a number
 * would silently lose precision; millisecond timestamps are far inside it.
 */
export function toSafeNumber(value: number | Long | null | undefined): number {
  if (value === null || value === undefined) return 0;
  const result = typeof value === 'number' ? value : value.toNumber();
  if (!Number.isSafeInteger(result)) {
    throw new RangeError(`64-bit value ${String(value)} is not a safe integer`);
  }
  return result;
}
