import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@courier/logging';
import {
  VerificationSendError,
  type VerificationCodeMessage,
  type VerificationCodeSender,
} from './sender.ts';

/** Options of {@link HttpVerificationCodeSender}. */
export interface HttpVerificationCodeSenderOptions {
  /** The SMS gateway's endpoint; codes are POSTed to it as JSON. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token: string;
  /** Time allowed for one attempt, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts in all (1 = no retry). @default 3 */
  readonly maxAttempts?: number;
  /** Wait before the first retry in ms; doubles on each further retry. @default 250 */
  readonly backoffMs?: number;
  readonly logger?: Logger;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** How to wait between attempts (tests record the waits instead). @default timers/promises */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Sends codes through an SMS/voice gateway over HTTP: `POST url` with
 * `{ number, code, transport, locale }` and a bearer token. Each attempt is bounded by a timeout;
 * network errors, timeouts and 5xx answers are retried with exponential backoff up to
 * `maxAttempts`; a 4xx answer is final (the request itself is wrong, retrying cannot help).
 */
export class HttpVerificationCodeSender implements VerificationCodeSender {
  readonly #options: HttpVerificationCodeSenderOptions;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: HttpVerificationCodeSenderOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
  }

  async send(message: VerificationCodeMessage): Promise<void> {
    const maxAttempts = Math.max(1, this.#options.maxAttempts ?? 3);
    const backoffMs = this.#options.backoffMs ?? 250;
    const body = JSON.stringify({
      number: message.number,
      code: message.code,
      transport: message.transport,
      locale: message.locale,
    });
    let lastError: VerificationSendError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      if (attempt > 1) await this.#sleep(backoffMs * 2 ** (attempt - 2));
      const error = await this.#attempt(body);
      if (!error) return;
      lastError = error;
      const retryable = error.status === undefined || error.status >= 500;
      this.#options.logger?.warn(
        { attempt, status: error.status, retryable },
        'verification code gateway attempt failed',
      );
      if (!retryable) break;
    }
    throw lastError ?? new VerificationSendError('Verification code not sent');
  }

  async #attempt(body: string): Promise<VerificationSendError | undefined> {
    let response: Response;
    try {
      response = await this.#fetch(this.#options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${this.#options.token}`,
        },
        body,
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
      });
    } catch (cause) {
      const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
      return new VerificationSendError(
        timedOut ? 'Verification code gateway timed out' : 'Verification code gateway unreachable',
        undefined,
        { cause },
      );
    }
    // Drain the body so the connection can be reused; its content does not matter.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return undefined;
    return new VerificationSendError(
      `Verification code gateway answered ${response.status}`,
      response.status,
    );
  }
}
