import type { Prisma } from '@courier/db';
import { BadUserInputError, InternalError, NotFoundError, RateLimitedError } from '@courier/errors';
import type { RateLimits } from '@courier/limits';
import type { Logger } from '@courier/logging';
import { VerificationError } from './errors.ts';
import { maskPhoneNumber, normalizePhoneNumber } from './phone-number.ts';
import {
  DEFAULT_VERIFICATION_POLICY,
  codeRequestRefusal,
  describeSession,
  earliestNextCodeAt,
  expiriesForNewCode,
  isGone,
  isLocked,
  type SessionMetadata,
  type VerificationPolicy,
  type VerificationTransport,
} from './policy.ts';
import type { SessionRecord, VerificationSessionRepository } from './repository.ts';
import {
  assertCodeFormat,
  hashSessionId,
  newSessionId,
  newVerificationCode,
  type VerificationCodeHasher,
} from './secrets.ts';
import type { VerificationCodeSender } from './sender.ts';

/** A verification session as the graph returns it. */
export interface VerificationSessionView extends SessionMetadata {
  /** The session id (a bearer secret the client already holds). */
  readonly id: string;
}

/** Dependencies and settings of {@link VerificationService}. */
export interface VerificationServiceOptions {
  readonly repository: VerificationSessionRepository;
  readonly sender: VerificationCodeSender;
  readonly hasher: VerificationCodeHasher;
  readonly limits: RateLimits;
  readonly logger: Logger;
  /** @default DEFAULT_VERIFICATION_POLICY */
  readonly policy?: Partial<VerificationPolicy>;
  /** Clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** Longest accepted locale tag. */
const MAX_LOCALE_LENGTH = 35;
/** A BCP 47 language tag, loosely: `en`, `en-US`, `zh-Hant-TW`, `de-CH-1996`. */
const LOCALE = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/;

/**
 * Phone-number verification sessions, as Signal's registration sessions: create a session for a
 * number, have a six-digit code sent by SMS or voice, submit it. Codes live in the database only
 * as keyed hashes and are compared in constant time; a session locks after
 * `maxFailedAttempts` wrong codes; every code request and every submission spends a permit of
 * the per-number and per-session rate-limit buckets (so aliases in one request each count).
 * A verified session is used once, by registration ({@link consumeVerifiedSession}).
 *
 * Nothing here logs a number, a code or a session id in production: numbers are masked.
 */
export class VerificationService {
  readonly #repository: VerificationSessionRepository;
  readonly #sender: VerificationCodeSender;
  readonly #hasher: VerificationCodeHasher;
  readonly #limits: RateLimits;
  readonly #logger: Logger;
  readonly #policy: VerificationPolicy;
  readonly #now: () => number;

  constructor(options: VerificationServiceOptions) {
    this.#repository = options.repository;
    this.#sender = options.sender;
    this.#hasher = options.hasher;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#policy = { ...DEFAULT_VERIFICATION_POLICY, ...options.policy };
    this.#now = options.now ?? Date.now;
  }

  /** The policy in force. */
  get policy(): VerificationPolicy {
    return this.#policy;
  }

  /**
   * Opens a session for `number` (normalised to E.164).
   * @throws BadUserInputError when the number is not a valid phone number.
   */
  async createSession(number: string): Promise<VerificationSessionView> {
    const normalized = normalizePhoneNumber(number);
    await this.#limits.consume('registration', normalized);
    const id = newSessionId();
    const now = this.#now();
    const record = await this.#repository.create({
      idHash: hashSessionId(id),
      number: normalized,
      createdAt: now,
      expiresAt: now + Math.min(this.#policy.sessionIdleTtlMs, this.#policy.sessionMaxLifetimeMs),
    });
    return this.#view(id, record, now);
  }

  /**
   * The session's current state.
   * @throws NotFoundError when it is unknown, expired or already used.
   */
  async getSession(sessionId: string): Promise<VerificationSessionView> {
    const idHash = hashSessionId(sessionId);
    const now = this.#now();
    const record = await this.#live(idHash, now);
    return this.#view(sessionId, record, now);
  }

  /**
   * Sends a new code by `transport`.
   * @throws NotFoundError unknown, expired or used session.
   * @throws VerificationError (`CONFLICT`) when the session cannot send a code (verified, locked,
   * out of codes, voice before any SMS).
   * @throws RateLimitedError before the session's next allowed time, or when a bucket is full.
   * @throws InternalError when the provider did not take the code (the code stays valid: a
   * timed-out gateway may still deliver it).
   */
  async requestCode(
    sessionId: string,
    transport: VerificationTransport,
    locale: string | null | undefined,
  ): Promise<VerificationSessionView> {
    const idHash = hashSessionId(sessionId);
    if (locale != null && (locale.length > MAX_LOCALE_LENGTH || !LOCALE.test(locale))) {
      throw new BadUserInputError('Expected a BCP 47 language tag such as en-US', 'locale');
    }
    const now = this.#now();
    const session = await this.#live(idHash, now);
    const refusal = codeRequestRefusal(session, transport, this.#policy);
    if (refusal) throw new VerificationError(refusal);
    const earliest = earliestNextCodeAt(session, this.#policy);
    if (now < earliest) throw new RateLimitedError((earliest - now) / 1000);

    await this.#limits.consume('verificationCodeRequestPerSession', sessionKey(idHash));
    await this.#limits.consume('verificationCodeRequest', session.number);

    const code = newVerificationCode();
    const { sessionExpiresAt, codeExpiresAt } = expiriesForNewCode(session, now, this.#policy);
    const updated = await this.#repository.storeCode(
      idHash,
      { codesSent: session.codesSent, maxFailedAttempts: this.#policy.maxFailedAttempts },
      {
        codeHash: this.#hasher.hash(idHash, code),
        codeExpiresAt,
        sentAt: now,
        expiresAt: sessionExpiresAt,
      },
    );
    if (!updated) {
      // Another request on this session won the race; it just sent a code.
      throw new RateLimitedError(
        (this.#policy.resendDelaysMs[0] ?? 1000) / 1000,
        'Another code was just requested for this session',
      );
    }
    try {
      await this.#sender.send({ number: session.number, code, transport, locale: locale ?? null });
    } catch (error) {
      this.#logger.error(
        { err: error, maskedNumber: maskPhoneNumber(session.number), transport },
        'verification code could not be sent',
      );
      throw new InternalError('The verification code could not be sent; try again later', {
        cause: error,
      });
    }
    return this.#view(sessionId, updated, now);
  }

  /**
   * Checks a submitted code. On success the session is verified (and its code cleared); a
   * verified session answers again with its state whatever the code.
   * @throws BadUserInputError malformed session id or code (nothing is spent).
   * @throws NotFoundError unknown, expired or used session.
   * @throws RateLimitedError when the per-session or per-number submission bucket is full.
   * @throws VerificationError `BAD_USER_INPUT` `INCORRECT_CODE` (with `remainingAttempts`) or
   * `CODE_EXPIRED`; `CONFLICT` `SESSION_LOCKED` or `NO_CODE_REQUESTED`.
   */
  async submitCode(sessionId: string, code: string): Promise<VerificationSessionView> {
    const idHash = hashSessionId(sessionId);
    assertCodeFormat(code);
    const now = this.#now();
    const session = await this.#live(idHash, now);
    // A locked session accepts no code whatever is submitted: refusing it costs no permit.
    if (session.verifiedAt === null && isLocked(session, this.#policy)) {
      throw new VerificationError('SESSION_LOCKED');
    }

    await this.#limits.consume('verificationCodeSubmitPerSession', sessionKey(idHash));
    await this.#limits.consume('verificationCodeSubmit', session.number);

    if (session.verifiedAt !== null) return this.#view(sessionId, session, now);
    if (!session.codeHash || session.codeExpiresAt === null) {
      throw new VerificationError('NO_CODE_REQUESTED');
    }
    if (now >= session.codeExpiresAt) throw new VerificationError('CODE_EXPIRED');

    if (this.#hasher.matches(idHash, code, session.codeHash)) {
      const verified = await this.#repository.markVerified(
        idHash,
        { codeHash: session.codeHash, maxFailedAttempts: this.#policy.maxFailedAttempts },
        { verifiedAt: now, expiresAt: now + this.#policy.verifiedSessionTtlMs },
      );
      if (verified) return this.#view(sessionId, verified, now);
      // A concurrent request changed the session: answer from its current state.
      const current = await this.#live(idHash, now);
      if (current.verifiedAt !== null) return this.#view(sessionId, current, now);
      throw new VerificationError('SESSION_LOCKED');
    }

    const failed = await this.#repository.recordFailedAttempt(
      idHash,
      this.#policy.maxFailedAttempts,
    );
    if (!failed) throw new VerificationError('SESSION_LOCKED');
    throw new VerificationError('INCORRECT_CODE', {
      remainingAttempts: Math.max(0, this.#policy.maxFailedAttempts - failed.failedAttempts),
    });
  }

  /**
   * For registration: inside the caller's transaction, marks a verified, unexpired, unconsumed
   * session as consumed (single use: a conditional update, so two registrations racing on one
   * session cannot both succeed) and returns its normalised number. If the caller's transaction
   * rolls back, the session stays usable.
   *
   * @throws BadUserInputError malformed session id.
   * @throws NotFoundError (`NOT_FOUND`) unknown, expired or already consumed session.
   * @throws VerificationError (`BAD_USER_INPUT`, reason `SESSION_NOT_VERIFIED`) when the session
   * exists but is not verified.
   */
  async consumeVerifiedSession(
    sessionId: string,
    tx: Prisma.TransactionClient,
  ): Promise<{ number: string }> {
    const idHash = hashSessionId(sessionId);
    const now = this.#now();
    const consumed = await this.#repository.consumeVerified(tx, idHash, now);
    if (consumed) return consumed;
    const session = await this.#repository.findInTransaction(tx, idHash);
    if (!session || isGone(session, now)) throw sessionNotFound();
    throw new VerificationError('SESSION_NOT_VERIFIED');
  }

  /** Deletes expired sessions (for a periodic job); returns how many. */
  purgeExpired(): Promise<number> {
    return this.#repository.deleteExpired(this.#now());
  }

  async #live(idHash: Uint8Array, now: number): Promise<SessionRecord> {
    const session = await this.#repository.find(idHash);
    if (!session || isGone(session, now)) throw sessionNotFound();
    return session;
  }

  #view(id: string, record: SessionRecord, now: number): VerificationSessionView {
    return { id, ...describeSession(record, now, this.#policy) };
  }
}

function sessionNotFound(): NotFoundError {
  return new NotFoundError('Verification session not found or expired');
}

/** Rate-limit key of a session: its id hash in hex (the id itself never leaves this module). */
function sessionKey(idHash: Uint8Array): string {
  return Buffer.from(idHash).toString('hex');
}
