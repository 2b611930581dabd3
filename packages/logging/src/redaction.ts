/** What a redacted value is replaced with. */
export const REDACTED = '[Redacted]';

/**
 * Field names whose values never reach a log, at any depth: credentials, tokens, message content,
 * phone numbers, key material, IP addresses and cookies. Header names are lower case, as Node
 * gives them.
 */
export const SENSITIVE_KEYS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'x-router-secret',
  'cookie',
  'cookies',
  'set-cookie',
  'password',
  'newPassword',
  'passwordHash',
  'salt',
  'pin',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'groupSendToken',
  'access',
  'credential',
  'credentials',
  'verificationCode',
  'provisioningCode',
  'content',
  'body',
  'messageBody',
  'messages',
  'ciphertext',
  'plaintext',
  'payload',
  'protobuf',
  'number',
  'e164',
  'phoneNumber',
  'identityKey',
  'publicKey',
  'privateKey',
  'signature',
  'signedPreKey',
  'preKeys',
  'pqPreKeys',
  'pqLastResortPreKey',
  'profileKey',
  'accessKey',
  'unidentifiedAccessKey',
  'masterKey',
  'accountEntropyPool',
  'remoteAddress',
  'address',
  'localAddress',
  'ip',
  'ips',
  'clientIp',
  'ipAddress',
  'x-forwarded-for',
  'x-real-ip',
  'forwarded',
];

/**
 * Field names matched by pattern rather than listed: any camelCase name ending in `Key`, `Token`,
 * `Password`, `Secret` or `Signature` (`identityKey`, `signedPreKey`, `pushToken`, ...).
 */
export const SENSITIVE_KEY_PATTERN = /[a-z0-9](?:Key|Keys|Token|Password|Secret|Signature)$/;

function segment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`;
}

const HEADER_KEYS = [
  'authorization',
  'proxy-authorization',
  'x-router-secret',
  'cookie',
  'set-cookie',
  'x-forwarded-for',
  'x-real-ip',
  'forwarded',
];

/**
 * The pino redaction paths (censor `[Redacted]`): every {@link SENSITIVE_KEYS} name at the top
 * level, the sensitive headers and the remote address of requests and responses
 * (`req.headers.authorization`, `res.headers["set-cookie"]`, `req.remoteAddress`, also under
 * `headers`, `request` and `response`), and `*.password`. Deeper and pattern-named fields
 * (`user.password`, `input.messages`, `keys.signedPreKey`) are scrubbed by the logger's formatter
 * and serializers ({@link scrub}); wildcard paths are kept few because each one costs pino a
 * walk of every line.
 */
export const REDACT_PATHS: readonly string[] = [
  ...SENSITIVE_KEYS.map((key) => segment(key).replace(/^\./, '')),
  ...HEADER_KEYS.map((key) => `headers${segment(key)}`),
  ...['req', 'res', 'request', 'response'].flatMap((parent) => [
    ...HEADER_KEYS.map((key) => `${parent}.headers${segment(key)}`),
    `${parent}.remoteAddress`,
  ]),
  '*.password',
];

const SENSITIVE = new Set(SENSITIVE_KEYS.map((key) => key.toLowerCase()));

/** Whether a field of this name is redacted. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE.has(key.toLowerCase()) || SENSITIVE_KEY_PATTERN.test(key);
}

const MAX_DEPTH = 8;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * {@link scrub} for what a pino serializer returns (objects with pino's own prototypes): copies
 * the enumerable fields into a plain object first.
 */
export function scrubSerialized<T>(value: T): T {
  if (value === null || typeof value !== 'object' || isPlainObject(value)) return scrub(value);
  return scrub({ ...value }) as T;
}

/**
 * Free-text fields (error messages and stacks) in which libraries write addresses, e.g.
 * `connect ECONNREFUSED 10.0.0.7:4003`: IP addresses in them are replaced by `[address]`.
 */
const FREE_TEXT_KEYS: ReadonlySet<string> = new Set(['message', 'stack', 'reason', 'detail']);

const IP_ADDRESS =
  /\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|[0-9a-f]{0,4}::(?:[0-9a-f]{1,4}\b|ffff:)/gi;

/** `text` with every IP address replaced by `[address]`. */
export function withoutAddresses(text: string): string {
  return text.replace(IP_ADDRESS, '[address]');
}

/**
 * Returns `value` with every sensitive field (see {@link isSensitiveKey}) replaced by
 * {@link REDACTED}, and IP addresses in free-text fields (error messages, stacks) replaced by
 * `[address]`, at any depth of plain objects and arrays. Copies only what it changes; other
 * objects (errors, buffers, class instances) are left to pino's serializers and redaction.
 */
export function scrub<T>(value: T, depth = 0): T {
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      const scrubbed = scrub(item, depth + 1);
      if (scrubbed !== item) {
        copy ??= [...value];
        copy[index] = scrubbed;
      }
    });
    return (copy ?? value) as T;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const scrubbed = isSensitiveKey(key)
      ? REDACTED
      : typeof item === 'string' && FREE_TEXT_KEYS.has(key)
        ? withoutAddresses(item)
        : scrub(item, depth + 1);
    if (scrubbed !== item) {
      copy ??= { ...value };
      copy[key] = scrubbed;
    }
  }
  return (copy ?? value) as T;
}

/**
 * Span attributes that never leave the process in a trace: client addresses and user agents,
 * full URLs (a GET request carries its variables in the query string), and GraphQL documents
 * (literals in them may hold numbers or ids). Trace exporters drop them: see
 * {@link redactingSpanExporter}.
 */
export const SENSITIVE_SPAN_ATTRIBUTES: ReadonlySet<string> = new Set([
  'http.client_ip',
  'client.address',
  'client.port',
  'net.peer.ip',
  'net.peer.port',
  'net.sock.peer.addr',
  'network.peer.address',
  'network.peer.port',
  'http.user_agent',
  'user_agent.original',
  'http.url',
  'http.target',
  'url.full',
  'url.query',
  'graphql.source',
  'graphql.document',
]);

/** Deletes {@link SENSITIVE_SPAN_ATTRIBUTES} from a span's attributes, in place. */
export function dropSensitiveSpanAttributes(attributes: Record<string, unknown>): void {
  for (const key of Object.keys(attributes)) {
    if (SENSITIVE_SPAN_ATTRIBUTES.has(key)) delete attributes[key];
  }
}

/** The part of an OpenTelemetry `SpanExporter` that {@link redactingSpanExporter} needs. */
export interface SpanExporterLike<TSpan extends { readonly attributes: object }, TResult> {
  export(spans: TSpan[], done: (result: TResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/**
 * Wraps a span exporter so that no span leaves with a sensitive attribute (see
 * {@link SENSITIVE_SPAN_ATTRIBUTES}); used by the subgraphs' tracing and the gateway's.
 */
export function redactingSpanExporter<TSpan extends { readonly attributes: object }, TResult>(
  inner: SpanExporterLike<TSpan, TResult>,
): Required<SpanExporterLike<TSpan, TResult>> {
  return {
    export(spans, done) {
      for (const span of spans) {
        dropSensitiveSpanAttributes(span.attributes as Record<string, unknown>);
      }
      inner.export(spans, done);
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}
