/**
 * Stable error codes. Callers branch on `error.code`; messages may improve over time.
 *
 * @example
 * if (err instanceof AfterwardError && err.code === ErrorCode.ENQUEUE_FAILED) reply.code(503)
 */
export const ErrorCode = {
  /** The input of a `defer`/`enqueue` failed the task's schema, is not plain JSON, or is too large. */
  INPUT_INVALID: 'AFTERWARD_INPUT_INVALID',
  /** The task is not registered with `createAfterward({ tasks })`. */
  UNKNOWN_TASK: 'AFTERWARD_UNKNOWN_TASK',
  /** A job option (`retry`, `delay`, `priority`, `key`, `queue`, `timeout`) or a `jobs.list` / `jobs.counts` query has a bad value. */
  OPTIONS_INVALID: 'AFTERWARD_OPTIONS_INVALID',
  /** `createAfterward`, a driver or a provider was configured wrongly, or used in a way that cannot work (`drain()` with no worker). */
  CONFIG_INVALID: 'AFTERWARD_CONFIG_INVALID',
  /** The broker did not store the jobs (down, refused, or slower than `enqueueTimeout`). */
  ENQUEUE_FAILED: 'AFTERWARD_ENQUEUE_FAILED',
  /** The broker could not be reached for a read (`jobs.get`, `jobs.byRequest`, `jobs.wait`, `jobs.list`, `jobs.counts`). */
  BROKER_UNAVAILABLE: 'AFTERWARD_BROKER_UNAVAILABLE',
  /** A task ran past its `timeout`. */
  TIMEOUT: 'AFTERWARD_TIMEOUT',
  /** A task asked not to be retried (`PermanentError`). */
  PERMANENT: 'AFTERWARD_PERMANENT',
  /** A task threw something that is not an `Error`. */
  TASK_FAILED: 'AFTERWARD_TASK_FAILED',
  /** A context provider failed to set up, acquire or release. */
  CONTEXT_FAILED: 'AFTERWARD_CONTEXT_FAILED',
  /** The instance, scope or worker is closed. */
  CLOSED: 'AFTERWARD_CLOSED',
  /** `jobs.wait`, `jobs.retry` or `jobs.remove` was given an id that no stored job has. */
  JOB_NOT_FOUND: 'AFTERWARD_JOB_NOT_FOUND',
  /** `jobs.retry` of a job that is not failed, or `jobs.remove` of a job that is running. */
  JOB_STATE_INVALID: 'AFTERWARD_JOB_STATE_INVALID',
  /** A wait (`jobs.wait`, `drain`) did not finish in time. */
  WAIT_TIMEOUT: 'AFTERWARD_WAIT_TIMEOUT',
  /** A task's `schedule` is invalid: bad cron, unknown time zone, `every` under 1 s, duplicate id, or an input the schema refuses. */
  SCHEDULE_INVALID: 'AFTERWARD_SCHEDULE_INVALID',
  /** A task's `limit.key` or `rate.key` function threw or returned no string: the job fails. */
  LIMIT_KEY_INVALID: 'AFTERWARD_LIMIT_KEY_INVALID',
  /** A task asked to run again later without spending an attempt (`ctx.retryAfter`). */
  RETRY_AFTER: 'AFTERWARD_RETRY_AFTER',
  /** A job stalled (its worker died during it) more than `maxStalledCount` times: it failed for good without running again. */
  STALLED: 'AFTERWARD_STALLED',
} as const

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/**
 * The codes whose failures may pass if tried again: a broker or a context that was away, a task
 * that was slow or threw. Every other code (bad input, bad options, an unknown task, a closed
 * instance, `PermanentError`) fails the same way every time, so a job failing with it is not
 * retried unless the error says otherwise.
 */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.ENQUEUE_FAILED,
  ErrorCode.BROKER_UNAVAILABLE,
  ErrorCode.TIMEOUT,
  ErrorCode.TASK_FAILED,
  ErrorCode.CONTEXT_FAILED,
])

/**
 * Base class of every error Afterward throws.
 *
 * @example
 * try { await afterward.enqueue(task, input) } catch (err) {
 *   if (err instanceof AfterwardError) console.error(err.code, err.message)
 * }
 */
export class AfterwardError extends Error {
  readonly code: ErrorCode
  /**
   * Whether a worker should retry a job that failed with this error.
   * @defaultValue true for `ENQUEUE_FAILED`, `BROKER_UNAVAILABLE`, `TIMEOUT`, `TASK_FAILED` and
   * `CONTEXT_FAILED`; false for every other code
   */
  readonly retryable: boolean

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.retryable = options?.retryable ?? RETRYABLE_CODES.has(code)
  }
}

/**
 * Thrown synchronously by `defer` and `enqueue` when the input cannot become a job: it fails the
 * task's schema, is not plain JSON, is too large, or the task is not registered.
 *
 * @example
 * try { reply.defer(sendEmail, { userId: 'x' }) } catch (err) {
 *   if (err instanceof AfterwardInputError) console.log(err.task, err.path) // 'send-email' 'input.userId'
 * }
 */
export class AfterwardInputError extends AfterwardError {
  /** The task's name. */
  readonly task: string
  /** JSON path of the first offending value, such as `input.items[2].at`. */
  readonly path: string

  constructor(
    task: string,
    path: string,
    message: string,
    options?: {
      code?: typeof ErrorCode.INPUT_INVALID | typeof ErrorCode.UNKNOWN_TASK
      cause?: unknown
    },
  ) {
    super(options?.code ?? ErrorCode.INPUT_INVALID, message, { cause: options?.cause })
    this.task = task
    this.path = path
  }
}

/**
 * The broker did not store the jobs. The HTTP adapters turn it into a 503 so that a client never
 * hears "OK" for work that was not stored.
 *
 * @example
 * catch (err) { if (err instanceof AfterwardEnqueueError) res.status(err.statusCode) }
 */
export class AfterwardEnqueueError extends AfterwardError {
  readonly statusCode = 503

  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.ENQUEUE_FAILED, message, options)
  }
}

/**
 * Throw from a task to fail the job at once, without the remaining retries.
 *
 * @example
 * if (!user) throw new PermanentError(`user ${input.userId} no longer exists`)
 */
export class PermanentError extends AfterwardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.PERMANENT, message, { cause: options?.cause })
  }
}

/**
 * Throw from a task (or call `ctx.retryAfter(ms)`) when an upstream says "not now" (an HTTP 429
 * with `Retry-After`): the job waits `ms` and runs again, without spending an attempt.
 *
 * @example
 * if (res.status === 429) throw new RetryAfterError(Number(res.headers.get('retry-after')) * 1_000)
 */
export class RetryAfterError extends AfterwardError {
  /** How long the job waits before it runs again, in ms. */
  readonly ms: number

  constructor(ms: number, message?: string, options?: { cause?: unknown }) {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `retryAfter(ms): ms must be a finite number >= 0 (got ${String(ms)}).`,
      )
    }
    super(ErrorCode.RETRY_AFTER, message ?? `Asked to run again in ${ms} ms.`, {
      cause: options?.cause,
    })
    this.ms = ms
  }
}

/** Turns anything thrown into an `Error`, keeping the original as `cause`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value
  const text = typeof value === 'string' ? value : safeString(value)
  return new AfterwardError(ErrorCode.TASK_FAILED, `A non-Error value was thrown: ${text}`, {
    cause: value,
  })
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
