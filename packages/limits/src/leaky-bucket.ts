/**
 * The leaky bucket as GCRA (generic cell rate algorithm): a bucket's whole state is one number,
 * the time at which it will be empty (`emptyAt`, ms since the epoch). Taking `n` permits pushes it
 * `n · period` further; the request fits when the bucket would then hold at most `capacity`
 * permits, i.e. `emptyAt − now ≤ capacity · period`. A refused request changes nothing, so
 * hammering does not extend the wait (as in Signal).
 */
export interface TakeResult {
  readonly allowed: boolean;
  /** Permits in the bucket after the call (for a refusal: `capacity + 1`). */
  readonly level: number;
  /** Allowed: ms until the bucket is empty. Refused: ms until the request would fit. */
  readonly ms: number;
  /** Allowed: the new `emptyAt` to store. Refused: the unchanged one. */
  readonly emptyAt: number;
}

/** Float slack (ms) so that a bucket filled exactly to capacity is not refused by rounding. */
const SLACK_MS = 0.001;

/** One step of the bucket; `now` and `emptyAt` in ms since the epoch. */
export function takePermits(
  emptyAt: number | undefined,
  now: number,
  permits: number,
  capacity: number,
  periodMs: number,
): TakeResult {
  const start = emptyAt === undefined || emptyAt < now ? now : emptyAt;
  const next = Math.max(now, start + permits * periodMs);
  const backlog = next - now;
  const windowMs = capacity * periodMs;
  if (backlog > windowMs + SLACK_MS) {
    return {
      allowed: false,
      level: capacity + 1,
      ms: Math.ceil(backlog - windowMs),
      emptyAt: start,
    };
  }
  return {
    allowed: true,
    level: Math.min(capacity, Math.ceil(backlog / periodMs - 1e-9)),
    ms: Math.ceil(backlog),
    emptyAt: next,
  };
}

/**
 * {@link takePermits} as a Redis script, in the calling convention of rate-limiter-flexible's
 * `customIncrTtlLuaScript`: `KEYS[1]` the bucket, `ARGV` = permits, whole seconds of the window
 * (unused), capacity (`points`) and window seconds (`duration` = capacity · period). It returns
 * `{level, ms}`; rate-limiter-flexible reads them as consumed points and ms before next, so a
 * level above capacity is a refusal. Time comes from the Redis server (`TIME`), one clock for every
 * instance. Scripts are replicated by effect (Redis ≥ 5), so `TIME` before a write is allowed.
 */
export const LEAKY_BUCKET_LUA = `
local permits = tonumber(ARGV[1])
local capacity = tonumber(ARGV[3])
local window_ms = tonumber(ARGV[4]) * 1000
local period_ms = window_ms / capacity
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local start = tonumber(redis.call('GET', KEYS[1]))
if start == nil or start < now then start = now end
local next = math.max(now, start + permits * period_ms)
local backlog = next - now
if backlog > window_ms + ${SLACK_MS} then
  return {capacity + 1, math.ceil(backlog - window_ms)}
end
if backlog > 0 then
  redis.call('SET', KEYS[1], string.format('%.3f', next), 'PX', math.ceil(backlog))
else
  redis.call('DEL', KEYS[1])
end
return {math.min(capacity, math.ceil(backlog / period_ms - 1e-9)), math.ceil(backlog)}
`;
