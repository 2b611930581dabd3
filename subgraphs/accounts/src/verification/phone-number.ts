import { BadUserInputError } from '@courier/errors';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Longest phone-number input looked at; anything longer is refused before parsing. */
const MAX_INPUT_LENGTH = 64;

/**
 * Validates a phone number written in international form (leading `+`, spaces and common
 * punctuation allowed) and returns it in E.164 (`+14155550101`). Uses libphonenumber's full
 * metadata, so numbers that cannot exist in their country's numbering plan are refused, as are
 * numbers with an extension.
 *
 * @throws BadUserInputError (`BAD_USER_INPUT`, field `number`) when the number is not valid.
 */
export function normalizePhoneNumber(input: string): string {
  const refuse = () =>
    new BadUserInputError(
      'Expected a valid phone number in international format (E.164: + then the country code and number, digits only)',
      'number',
    );
  const trimmed = input.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_INPUT_LENGTH || !trimmed.startsWith('+')) {
    throw refuse();
  }
  const parsed = parsePhoneNumberFromString(trimmed);
  if (!parsed || parsed.ext || !parsed.isValid()) throw refuse();
  return parsed.number;
}

/**
 * A phone number shortened for logs: the first two characters (`+` and the first digit) and the
 * last two digits, the rest replaced by `*` — enough to tell test numbers apart, too little to
 * identify anyone.
 */
export function maskPhoneNumber(number: string): string {
  if (number.length <= 4) return '*'.repeat(number.length);
  return `${number.slice(0, 2)}${'*'.repeat(number.length - 4)}${number.slice(-2)}`;
}
