/**
 * Canonical standard base64 (RFC 4648 §4, padded, no whitespace): what the graph's `Base64`
 * scalar, sealed secrets and key settings accept. The empty string matches; callers that need
 * bytes check the length themselves.
 */
export const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
