import { BASE64_PATTERN } from '@courier/config';
import { BadUserInputError } from '@courier/errors';
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';

function parseBase64(value: unknown): Uint8Array {
  if (typeof value !== 'string' || !BASE64_PATTERN.test(value)) {
    throw new BadUserInputError('Expected standard base64 with padding');
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/**
 * `Base64`: bytes on the wire as standard padded base64, `Uint8Array` inside resolvers.
 * Anything else (URL-safe alphabet, missing padding, whitespace) is refused, so every byte
 * string has exactly one spelling.
 */
export const Base64Scalar = new GraphQLScalarType<Uint8Array, string>({
  name: 'Base64',
  serialize: (value) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
    throw new TypeError('Base64 fields must resolve to a Uint8Array');
  },
  parseValue: parseBase64,
  parseLiteral: (ast: ValueNode) => parseBase64(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseTimestamp(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new BadUserInputError('Expected a timestamp: milliseconds since the epoch');
  }
  return value;
}

/** `Timestamp`: milliseconds since the Unix epoch as a JSON number; accepts `Date` on output. */
export const TimestampScalar = new GraphQLScalarType<number, number>({
  name: 'Timestamp',
  serialize: (value) => {
    if (value instanceof Date) return value.getTime();
    if (typeof value === 'bigint') return Number(value);
    if (typeof value === 'number') return value;
    throw new TypeError('Timestamp fields must resolve to a Date, number or bigint');
  },
  parseValue: parseTimestamp,
  parseLiteral: (ast: ValueNode) =>
    parseTimestamp(ast.kind === Kind.INT ? Number(ast.value) : undefined),
});
