import { AfterwardError, ErrorCode } from './errors.js'

/** How long to wait between attempts. */
export interface BackoffOptions {
  /** `fixed` waits `delay` every time; `exponential` waits `delay * 2^(attempt - 1)`. @defaultValue 'exponential' */
  type?: 'fixed' | 'exponential'
  /** Base delay in ms. @defaultValue 1_000 */
  delay?: number
  /**
   * Fraction of the delay that is randomised, from 0 (none) to 1: with 0.2 an exponential 10 s
   * wait becomes a value between 8 and 10 s, so that a burst of failures does not retry in step.
   * @defaultValue 0.2
   */
  jitter?: number
}

/** Retry policy. Fields set at a more specific level override the same field below it. */
export interface RetryOptions {
  /** Total number of attempts, the first included. @defaultValue 1 (no retry) */
  attempts?: number
  /** @defaultValue `{ type: 'exponential', delay: 1_000, jitter: 0.2 }` */
  backoff?: BackoffOptions
}

/**
 * Job priority. Within one queue a `high` job never waits behind a `normal` one, nor a `normal`
 * one behind a `low` one; jobs of equal priority run in the order they were enqueued.
 * BullMQ mapping: high → 1, normal → 2, low → 3 (every job gets an explicit priority, because
 * BullMQ runs jobs that have none before all prioritized ones).
 */
export type Priority = 'high' | 'normal' | 'low'

export const PRIORITY_RANK: Record<Priority, number> = { high: 1, normal: 2, low: 3 }

/**
 * Options of one job. Precedence: call site > route (`config.defer` / `deferOptions()`) >
 * task definition > `createAfterward({ defaults })` > built-in defaults.
 */
export interface JobOptions {
  /** Retry policy; merged field by field across levels. */
  retry?: RetryOptions
  /** Deadline of one attempt in ms; `ctx.signal` aborts then. @defaultValue none */
  timeout?: number
  /** Run no earlier than this: ms from now, or a `Date`. @defaultValue 0 */
  delay?: number | Date
  /** @defaultValue 'normal' */
  priority?: Priority
  /**
   * Deduplication key: while a job with this key (for this task) is waiting, delayed or
   * active, deferring another one stores nothing. Once it completed or failed, a new one is
   * accepted. @defaultValue none
   */
  key?: string
  /** Queue name. @defaultValue 'default' */
  queue?: string
}

/**
 * Options resolved for one job: every level merged, defaults applied, values checked. What a
 * driver finds in `JobRecord.options`; no field is left to a driver's own default.
 */
export interface ResolvedJobOptions {
  /** Attempts allowed in total, at least 1. */
  attempts: number
  /** Wait before each retry, computed with `backoffDelay`. */
  backoff: Required<BackoffOptions>
  /** Deadline of one attempt in ms, or undefined for none. */
  timeout: number | undefined
  /** Ms after the defer (`JobRecord.createdAt`) before the first attempt may start; 0: at once. */
  delay: number
  priority: Priority
  /** Deduplication key (per task), or undefined. */
  key: string | undefined
  queue: string
}

export const BUILTIN_DEFAULTS = {
  attempts: 1,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.2 },
  priority: 'normal',
  queue: 'default',
} as const

/**
 * Merges option levels, most specific first, and checks the result.
 * Throws `AfterwardError` (`AFTERWARD_OPTIONS_INVALID`) naming the bad option.
 */
export function resolveOptions(
  levels: readonly (JobOptions | undefined)[],
  now = Date.now(),
): ResolvedJobOptions {
  const attempts = pickRetry(levels, 'attempts') ?? BUILTIN_DEFAULTS.attempts
  if (!Number.isInteger(attempts) || attempts < 1) {
    invalid(`retry.attempts must be an integer >= 1 (got ${String(attempts)})`)
  }
  // Backoff is merged field by field too: a route that sets only `delay` keeps the task's type.
  const backoffIn = {
    type: pickBackoff(levels, 'type') ?? BUILTIN_DEFAULTS.backoff.type,
    delay: pickBackoff(levels, 'delay') ?? BUILTIN_DEFAULTS.backoff.delay,
    jitter: pickBackoff(levels, 'jitter'),
  }
  if (backoffIn.type !== 'fixed' && backoffIn.type !== 'exponential') {
    invalid(`retry.backoff.type must be 'fixed' or 'exponential' (got ${String(backoffIn.type)})`)
  }
  checkMs('retry.backoff.delay', backoffIn.delay)
  const jitter = backoffIn.jitter ?? BUILTIN_DEFAULTS.backoff.jitter
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    invalid(`retry.backoff.jitter must be a number from 0 to 1 (got ${String(jitter)})`)
  }

  const timeout = pick(levels, 'timeout')
  if (timeout !== undefined && (checkMs('timeout', timeout), timeout === 0)) {
    invalid('timeout must be greater than 0 ms; leave it out for no timeout')
  }

  const delayIn = pick(levels, 'delay')
  let delay = 0
  if (delayIn instanceof Date) {
    if (Number.isNaN(delayIn.getTime())) invalid('delay is an invalid Date')
    delay = Math.max(0, delayIn.getTime() - now)
  } else if (delayIn !== undefined) {
    checkMs('delay', delayIn)
    delay = delayIn
  }

  const priority = pick(levels, 'priority') ?? BUILTIN_DEFAULTS.priority
  if (!(priority in PRIORITY_RANK)) {
    invalid(`priority must be 'high', 'normal' or 'low' (got ${String(priority)})`)
  }

  const key = pick(levels, 'key')
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 512)) {
    invalid('key must be a non-empty string of at most 512 characters')
  }

  const queue = pick(levels, 'queue') ?? BUILTIN_DEFAULTS.queue
  checkQueueName(queue)

  return {
    attempts,
    backoff: { type: backoffIn.type, delay: backoffIn.delay, jitter },
    timeout,
    delay,
    priority,
    key,
    queue,
  }
}

// The most specific level that sets a field wins. Module-level rather than closures: this runs
// for every defer.
type Levels = readonly (JobOptions | undefined)[]

function pick<K extends keyof JobOptions>(levels: Levels, k: K): JobOptions[K] | undefined {
  for (const level of levels) if (level?.[k] !== undefined) return level[k]
  return undefined
}

function pickRetry<K extends keyof RetryOptions>(
  levels: Levels,
  k: K,
): RetryOptions[K] | undefined {
  for (const level of levels) if (level?.retry?.[k] !== undefined) return level.retry[k]
  return undefined
}

function pickBackoff<K extends keyof BackoffOptions>(
  levels: Levels,
  k: K,
): BackoffOptions[K] | undefined {
  for (const level of levels) {
    if (level?.retry?.backoff?.[k] !== undefined) return level.retry.backoff[k]
  }
  return undefined
}

/** Queue names end up in broker keys: keep them to a safe charset. */
export function checkQueueName(queue: unknown): asserts queue is string {
  if (typeof queue !== 'string' || !/^[A-Za-z0-9][\w.-]{0,99}$/.test(queue)) {
    invalid(
      `queue must be 1-100 characters of letters, digits, '.', '_' or '-' (got ${JSON.stringify(queue)})`,
    )
  }
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed.
 * Jitter takes up to `jitter` of the delay away, never adds to it.
 */
export function backoffDelay(
  backoff: Required<BackoffOptions>,
  attempt: number,
  random = Math.random,
): number {
  const base =
    backoff.type === 'fixed' ? backoff.delay : backoff.delay * 2 ** Math.max(0, attempt - 1)
  return Math.round(base * (1 - backoff.jitter * random()))
}

function checkMs(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalid(`${name} must be a finite number of ms >= 0 (got ${String(value)})`)
  }
}

function invalid(message: string): never {
  throw new AfterwardError(ErrorCode.OPTIONS_INVALID, `Invalid job option: ${message}.`)
}
