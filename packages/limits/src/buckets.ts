/** A leaky bucket: room for `capacity` permits, one permit drains every `periodSeconds`. */
export interface BucketConfig {
  /** Most permits that can be taken in a burst (Signal's bucket size). */
  readonly capacity: number;
  /** Seconds for one permit to drain (Signal's permit regeneration duration). */
  readonly periodSeconds: number;
  /**
   * When Redis is unreachable: `true` keeps limiting per process (an in-memory bucket with the same
   * config), `false` refuses the operation with `INTERNAL` (for buckets that guard brute force or
   * cost money). Follows Signal's fail-open flags.
   */
  readonly failOpen: boolean;
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Courier's named rate-limit buckets and their defaults. Signal's values where Signal has the
 * bucket (`RateLimiters.For` in Signal-Server); the key each one is meant to be consumed with is
 * in its comment. Operators and tests override them through `createRateLimits({ overrides })`.
 */
export const BUCKETS = {
  /**
   * Registration attempts: verification sessions opened for one number; key: E.164 number.
   * Signal: 6 per 30 s.
   */
  registration: { capacity: 6, periodSeconds: 30, failOpen: false },
  /** Captcha submissions during verification; key: verification session id. Signal: 10 / 30 s. */
  verificationCaptcha: { capacity: 10, periodSeconds: 30, failOpen: false },
  /** Push-challenge submissions during verification; key: session id. Signal: 5 / 30 s. */
  verificationPushChallenge: { capacity: 5, periodSeconds: 30, failOpen: false },
  /**
   * Verification codes sent (SMS or voice) to one number; key: E.164 number. Guards against SMS
   * pumping: a burst of 3 (first try, a retry, a switch to voice), then one per 10 minutes.
   * Signal's registration service staggers resends similarly (about 1 min, then minutes apart).
   */
  verificationCodeRequest: { capacity: 3, periodSeconds: 10 * MINUTE, failOpen: false },
  /** Verification codes sent within one session; key: session id. Burst of 2, then one per 2 min. */
  verificationCodeRequestPerSession: { capacity: 2, periodSeconds: 2 * MINUTE, failOpen: false },
  /**
   * Code guesses against one number across sessions; key: E.164 number. Six-digit codes: 10 quick
   * tries, then one per 30 minutes (at most 58 guesses on the first day, 48 a day after that).
   */
  verificationCodeSubmit: { capacity: 10, periodSeconds: 30 * MINUTE, failOpen: false },
  /** Code guesses within one session; key: session id. 5 tries, then one per minute. */
  verificationCodeSubmitPerSession: { capacity: 5, periodSeconds: MINUTE, failOpen: false },
  /**
   * `login` (device password → access token); key: `<aci>.<deviceId>` (or the number). Device
   * passwords are random, so guessing is hopeless; the bucket bounds the cost of password hashing
   * and credential stuffing while leaving room for a client reconnecting often: 10 at once, then
   * one a minute. Fails open: a Redis outage must not lock every device out.
   */
  login: { capacity: 10, periodSeconds: MINUTE, failOpen: true },
  /**
   * Prekey bundle fetches; key: `<caller aci>.<device>__<target aci>.<device>`. Signal: 6 / 10 min.
   */
  prekeys: { capacity: 6, periodSeconds: 10 * MINUTE, failOpen: false },
  /** Messages; key: `<sender aci>__<recipient aci>`. Signal: 60 / 1 s. */
  messages: { capacity: 60, periodSeconds: 1, failOpen: true },
  /** Story sends; key: sender ACI. Signal: 5000 / 8 s. */
  stories: { capacity: 5000, periodSeconds: 8, failOpen: true },
  /**
   * Bytes queued for one recipient (consume the content size); key: recipient ACI. Signal: a
   * 128 MiB bucket draining one byte per 0.5 ms (2 KB/s).
   */
  inboundMessageBytes: { capacity: 128 * 1024 * 1024, periodSeconds: 0.0005, failOpen: true },
  /** Profile fetches; key: caller ACI. Signal: 4320 / 20 s. */
  profile: { capacity: 4320, periodSeconds: 20, failOpen: true },
  /** Attachment upload forms; key: caller ACI. Signal: 50 / 1.2 s. */
  attachmentCreate: { capacity: 50, periodSeconds: 1.2, failOpen: true },
  /**
   * Bytes of attachment upload forms (consume the declared upload length); key: caller ACI.
   * Signal: a 1 GiB budget refilling at 1 MiB/s.
   */
  attachmentBytes: {
    capacity: 1024 * 1024 * 1024,
    periodSeconds: 1 / (1024 * 1024),
    failOpen: true,
  },
  /**
   * Provisioning sessions opened (a device waiting to be linked; no credentials yet); key: the
   * gateway's pseudonym of the client's address, never the address. 10 at once, then one every
   * 30 s: a real link needs one or two.
   */
  provisioning: { capacity: 10, periodSeconds: 30, failOpen: true },
  /** Link-device codes; key: account ACI. Signal: 6 / 2 min. */
  allocateDevice: { capacity: 6, periodSeconds: 2 * MINUTE, failOpen: false },
  /** Linking a new device with a code; key: number or ACI. Signal: 6 / 2 min. */
  verifyDevice: { capacity: 6, periodSeconds: 2 * MINUTE, failOpen: false },
  /** Waiting for a linked device to appear; key: ACI. Signal: 10 / 30 s. */
  waitForLinkedDevice: { capacity: 10, periodSeconds: 30, failOpen: false },
  /** Username hash reservations; key: ACI. Signal: 100 / 15 min. */
  usernameReserve: { capacity: 100, periodSeconds: 15 * MINUTE, failOpen: false },
  /** Username confirmations; key: ACI. Signal: 100 / 15 min. */
  usernameSet: { capacity: 100, periodSeconds: 15 * MINUTE, failOpen: false },
  /** Username lookups; key: caller. Signal: 100 / 15 min. */
  usernameLookup: { capacity: 100, periodSeconds: 15 * MINUTE, failOpen: true },
  /** Account existence checks; key: caller. Signal: 1000 / 4 s. */
  checkAccountExistence: { capacity: 1000, periodSeconds: 4, failOpen: true },
  /** Registration-lock PIN guesses; key: E.164 number. Signal: 10 per day. */
  pin: { capacity: 10, periodSeconds: DAY, failOpen: false },
} as const satisfies Record<string, BucketConfig>;

/** Name of a rate-limit bucket. */
export type BucketName = keyof typeof BUCKETS;

/** All bucket names. */
export const BUCKET_NAMES = Object.keys(BUCKETS) as BucketName[];
