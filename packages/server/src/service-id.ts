import { BadUserInputError } from '@courier/errors';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a lower-case canonical UUID (callers lower-case input first where they accept any case). */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** A service id: an ACI (`<uuid>`) or a PNI (`PNI:<uuid>`). */
export interface ServiceId {
  readonly kind: 'ACI' | 'PNI';
  /** The lower-case UUID. */
  readonly uuid: string;
  /** The normalised spelling: `<uuid>` or `PNI:<uuid>`. */
  readonly text: string;
}

/**
 * Parses a service id in any letter case; anything else is refused with `BAD_USER_INPUT`
 * naming `field`.
 */
export function parseServiceId(value: string, field: string): ServiceId {
  const pni = /^PNI:/i.test(value);
  const uuid = (pni ? value.slice(4) : value).toLowerCase();
  if (!isUuid(uuid)) throw new BadUserInputError(`${field} must be <aci> or PNI:<pni>`, field);
  return { kind: pni ? 'PNI' : 'ACI', uuid, text: pni ? `PNI:${uuid}` : uuid };
}
