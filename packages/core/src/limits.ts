// Flow control of a task: how many of its jobs run at once and how many start per period, across
// every worker, for the task as a whole or per key. Checked at definition time here; enforced by
// the worker (limit-gate.ts) through the driver's `Limiter`.
import { AfterwardError, ErrorCode } from './errors.js'

/**
 * At most `concurrency` jobs of the task run at once across every worker process; with `key`,
 * at most `concurrency` per key, while jobs of other keys run.
 *
 * @example
 * limit: { key: (input) => input.tenantId, concurrency: 1 } // one at a time per tenant
 */
export interface ConcurrencyLimit<I = unknown> {
  /** Jobs running at once (per key, with `key`): an integer >= 1. */
  concurrency: number
  /** The key a job counts against, from its input; a non-empty string. @defaultValue the task */
  key?: (input: I) => string
}

/**
 * At most `max` jobs of the task start in any window of `per` ms across every worker process;
 * with `key`, per key.
 *
 * @example
 * rate: { max: 100, per: 60_000 } // 100 a minute
 */
export interface RateLimit<I = unknown> {
  /** Starts per window: an integer >= 1. */
  max: number
  /** The window, in ms (>= 1). */
  per: number
  /** The key a job counts against, from its input; a non-empty string. @defaultValue the task */
  key?: (input: I) => string
}

/** The longest key a key function may return: keys are stored in broker keys and rows. */
export const MAX_LIMIT_KEY_LENGTH = 512

/** Throws `AFTERWARD_CONFIG_INVALID` for a limit or rate that cannot work. */
export function checkLimits(task: string, limit: unknown, rate: unknown): void {
  const bad = (message: string): never => {
    throw new AfterwardError(ErrorCode.CONFIG_INVALID, `defineTask('${task}'): ${message}.`)
  }
  if (limit !== undefined) {
    if (typeof limit !== 'object' || limit === null) bad('limit must be { concurrency, key? }')
    const { concurrency, key } = limit as ConcurrencyLimit
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      bad(
        `limit.concurrency must be an integer >= 1 (got ${String(concurrency)}); leave limit out for no limit`,
      )
    }
    if (key !== undefined && typeof key !== 'function') {
      bad('limit.key must be a function of the input that returns a string')
    }
  }
  if (rate !== undefined) {
    if (typeof rate !== 'object' || rate === null) bad('rate must be { max, per, key? }')
    const { max, per, key } = rate as RateLimit
    if (!Number.isInteger(max) || max < 1) {
      bad(`rate.max must be an integer >= 1 (got ${String(max)}); leave rate out for no limit`)
    }
    if (typeof per !== 'number' || !Number.isFinite(per) || per < 1) {
      bad(`rate.per must be a number of ms >= 1 (got ${String(per)})`)
    }
    if (key !== undefined && typeof key !== 'function') {
      bad('rate.key must be a function of the input that returns a string')
    }
  }
}

/** The key a job counts against: the task name, or the task name, `#` and what `key` returned. */
export function limitKey(
  task: string,
  which: 'limit' | 'rate',
  key: ((input: never) => string) | undefined,
  input: unknown,
): string {
  if (key === undefined) return task
  let value: unknown
  try {
    value = (key as (input: unknown) => unknown)(input)
  } catch (err) {
    throw new AfterwardError(
      ErrorCode.LIMIT_KEY_INVALID,
      `Task '${task}': ${which}.key threw (${err instanceof Error ? err.message : String(err)}). Make it return a string for every valid input; the job failed without retries.`,
      { cause: err },
    )
  }
  // NUL is refused too: PostgreSQL cannot store it in text.
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_LIMIT_KEY_LENGTH ||
    value.includes('\u0000')
  ) {
    throw new AfterwardError(
      ErrorCode.LIMIT_KEY_INVALID,
      `Task '${task}': ${which}.key must return a non-empty string of at most ${MAX_LIMIT_KEY_LENGTH} characters without NUL (got ${describe(value)}); the job failed without retries.`,
    )
  }
  return `${task}#${value}`
}

function describe(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length === 0) return 'an empty string'
    return value.includes('\u0000') ? 'a string with NUL' : `${value.length} characters`
  }
  if (value === null) return 'null'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}
