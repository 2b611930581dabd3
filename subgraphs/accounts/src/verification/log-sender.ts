import type { Logger } from '@courier/logging';
import { maskPhoneNumber } from './phone-number.ts';
import type { VerificationCodeMessage, VerificationCodeSender } from './sender.ts';

/** A code the log sender "sent", as the outbox keeps it. */
export interface OutboxEntry extends VerificationCodeMessage {
  /** When it was sent, ms since the epoch. */
  readonly sentAt: number;
}

/**
 * The in-memory outbox of the {@link LogVerificationCodeSender}: what development tools and test
 * harnesses read instead of a phone. It keeps the last `capacity` codes of the process; it is
 * never exposed through the graph.
 */
export class VerificationOutbox {
  readonly #entries: OutboxEntry[] = [];
  readonly #capacity: number;

  /** @param capacity codes kept, oldest dropped first. @default 1000 */
  constructor(capacity = 1000) {
    this.#capacity = capacity;
  }

  /** Adds a sent code. */
  record(entry: OutboxEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.#capacity) this.#entries.shift();
  }

  /** The last code sent to `number` (E.164), if any. */
  latest(number: string): OutboxEntry | undefined {
    return this.#entries.findLast((entry) => entry.number === number);
  }

  /** Every kept code sent to `number`, oldest first. */
  all(number: string): OutboxEntry[] {
    return this.#entries.filter((entry) => entry.number === number);
  }

  /** Forgets every code. */
  clear(): void {
    this.#entries.length = 0;
  }
}

/** Options of {@link LogVerificationCodeSender}. */
export interface LogVerificationCodeSenderOptions {
  readonly logger: Logger;
  /** In production the code itself is never logged (the outbox still gets it). */
  readonly production: boolean;
  /** @default a new outbox */
  readonly outbox?: VerificationOutbox;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The development sender: sends nothing, puts each code in an in-memory {@link VerificationOutbox}
 * and logs that a code was sent with the number masked, and the code itself only outside
 * production.
 */
export class LogVerificationCodeSender implements VerificationCodeSender {
  /** Where the codes go. */
  readonly outbox: VerificationOutbox;
  readonly #logger: Logger;
  readonly #production: boolean;
  readonly #now: () => number;

  constructor(options: LogVerificationCodeSenderOptions) {
    this.outbox = options.outbox ?? new VerificationOutbox();
    this.#logger = options.logger;
    this.#production = options.production;
    this.#now = options.now ?? Date.now;
  }

  async send(message: VerificationCodeMessage): Promise<void> {
    this.outbox.record({ ...message, sentAt: this.#now() });
    this.#logger.info(
      {
        maskedNumber: maskPhoneNumber(message.number),
        transport: message.transport,
        ...(this.#production ? {} : { code: message.code }),
      },
      'verification code sent (log provider)',
    );
  }
}
