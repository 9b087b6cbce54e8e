import type { Logger } from 'pino'
import type { AcquireInfo, ContextProvider, TaskOutcome } from './context.js'
import type { AttemptAbort } from './attempt-abort.js'
import type { DeliveredJob } from './driver.js'
import type { AnyTask, JobMeta, TaskContext } from './task.js'
import type { Runtime } from './runtime.js'
import { RequeueJob } from './driver.js'
import { AfterwardError, ErrorCode, RetryAfterError, toError } from './errors.js'
import { FollowUps } from './follow-ups.js'
import { validateForRun } from './validate.js'

/** The context providers, as `[name, provider]` pairs (listed once per worker, not per job). */
export type ProviderList = readonly (readonly [string, ContextProvider<unknown>])[]

export interface AttemptInput {
  job: DeliveredJob
  task: AnyTask
  providers: ProviderList
  /** Enqueues `ctx.defer`'s jobs: flushed only after success and after contexts are released. */
  runtime: Runtime
  /** The job's logger, made on first use (pino's `child()` costs more than a no-op job). */
  log: () => Logger
  /** Aborted by the worker when it gives up waiting at shutdown; by the attempt at its timeout. */
  abort: AttemptAbort
  /** When the task's limits granted the start (the limiter's clock); else now. */
  startedAt?: number | undefined
}

/**
 * One attempt of one job. Never throws: the outcome says how it ended. Contexts acquired are
 * always released, in reverse order, with that outcome; a failed release after a successful
 * run (a commit that failed) turns the outcome into a failure.
 */
export async function runAttempt(input: AttemptInput): Promise<TaskOutcome> {
  const { job, task, providers, log, abort } = input
  const timeout = job.options.timeout
  const deadline = timeout === undefined ? undefined : Date.now() + timeout
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => abort.abort(timedOut(task, timeout, job.attempt)), timeout)

  const meta: JobMeta = {
    id: job.id,
    task: job.task,
    queue: job.options.queue,
    attempt: job.attempt,
    attempts: job.options.attempts,
    redelivered: job.redelivered,
    requestId: job.requestId,
    key: job.options.key,
    createdAt: new Date(job.createdAt),
    startedAt: new Date(input.startedAt ?? Date.now()),
    trace: job.trace,
    schedule: job.schedule && { id: job.schedule.id, tick: new Date(job.schedule.tick) },
  }
  const followUps = new FollowUps(input.runtime, job)
  const acquired: { provider: ContextProvider<unknown>; name: string; value: unknown }[] = []
  let outcome: TaskOutcome
  try {
    // Inside the deadline too: an async schema or a provider that hangs must not hang the job.
    const value = task.input ? await abort.race(validateForRun(task, job.input)) : job.input
    if (providers.length > 0) {
      // `meta` spread last: spread first, then more properties, is V8's slow path (~1.5 µs).
      const acquireInfo: AcquireInfo = {
        deadline,
        get signal() {
          return abort.signal
        },
        ...meta,
      }
      for (const [name, provider] of providers) {
        const acquiring = Promise.resolve().then(() => provider.acquire(acquireInfo))
        try {
          acquired.push({ provider, name, value: await abort.race(acquiring) })
        } catch (err) {
          if (abort.aborted) releaseLate(acquiring, provider, abort, log)
          throw new AfterwardError(
            ErrorCode.CONTEXT_FAILED,
            `Context '${name}' failed to acquire: ${toError(err).message}`,
            { cause: err },
          )
        }
      }
    }
    const ctx = new AttemptContext(meta, abort, log, followUps) as unknown as TaskContext
    for (const { name, value } of acquired) (ctx as Record<string, unknown>)[name] = value
    const result: unknown = task.run(value, ctx)
    if (isThenable(result)) await abort.race(result)
    outcome = { status: 'success', error: undefined }
  } catch (err) {
    // A failure raised once the deadline has passed is the timeout, even if it reached the loop
    // before the timer did (a query cancelled by the server's statement_timeout, a busy loop).
    if (timeout !== undefined && Date.now() >= deadline!) {
      abort.abort(timedOut(task, timeout, job.attempt))
    }
    outcome = classify(err, abort)
  } finally {
    clearTimeout(timer)
  }

  for (let i = acquired.length - 1; i >= 0; i--) {
    const { provider, name, value } = acquired[i]!
    try {
      await provider.release?.(value, outcome)
    } catch (err) {
      const error = new AfterwardError(
        ErrorCode.CONTEXT_FAILED,
        `Context '${name}' failed to release: ${toError(err).message}`,
        {
          cause: err,
        },
      )
      if (outcome.status === 'success') outcome = { status: 'failure', error }
      else log().error({ err: error }, 'context release failed')
    }
  }

  if (outcome.status !== 'success') {
    const dropped = followUps.discard()
    if (dropped > 0) log().debug({ dropped }, 'follow-up jobs dropped: the task did not succeed')
    return outcome
  }
  const flushing = followUps.flush()
  if (flushing === undefined) return outcome
  try {
    await flushing
  } catch (err) {
    return { status: 'failure', error: toError(err) }
  }
  return outcome
}

/**
 * A task's `ctx`. `signal`, `log` and `defer` are made only when read (an `AbortController`, a
 * pino child and a bound function cost more than a no-op job), yet they are own enumerable
 * properties, so that `{ ...ctx }` copies them like the rest. Their getters are shared by every
 * context: an object literal with getters would make new ones per attempt, and V8 would keep
 * each such object as a dictionary (about 0.5 µs more per attempt, and more garbage).
 */
class AttemptContext {
  readonly #abort: AttemptAbort
  readonly #log: () => Logger
  readonly #followUps: FollowUps
  #defer: TaskContext['defer'] | undefined

  static readonly #accessors: PropertyDescriptorMap = {
    signal: {
      get(this: AttemptContext) {
        return this.#abort.signal
      },
      enumerable: true,
    },
    log: {
      get(this: AttemptContext) {
        return this.#log()
      },
      enumerable: true,
    },
    defer: {
      get(this: AttemptContext) {
        return (this.#defer ??= this.#followUps.defer.bind(this.#followUps) as TaskContext['defer'])
      },
      enumerable: true,
    },
  }

  readonly job: JobMeta
  readonly retryAfter = retryAfter

  constructor(job: JobMeta, abort: AttemptAbort, log: () => Logger, followUps: FollowUps) {
    this.job = job
    this.#abort = abort
    this.#log = log
    this.#followUps = followUps
    Object.defineProperties(this, AttemptContext.#accessors)
  }
}

/** A context acquired after the attempt gave up on it is released at once, not leaked. */
function releaseLate(
  acquiring: Promise<unknown>,
  provider: ContextProvider<unknown>,
  abort: AttemptAbort,
  log: () => Logger,
): void {
  acquiring.then(
    async (value) => {
      try {
        await provider.release?.(value, classify(abort.reason, abort))
      } catch (err) {
        log().error({ err }, 'release of a late context failed')
      }
    },
    () => undefined,
  )
}

function timedOut(task: AnyTask, timeout: number, attempt: number): AfterwardError {
  return new AfterwardError(
    ErrorCode.TIMEOUT,
    `Task '${task.name}' timed out after ${timeout} ms (attempt ${attempt}).`,
  )
}

function retryAfter(ms: number): never {
  throw new RetryAfterError(ms)
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function'
}

function classify(err: unknown, abort: AttemptAbort): TaskOutcome {
  if (abort.aborted) {
    const reason = abort.reason
    if (reason instanceof RequeueJob) return { status: 'shutdown', error: reason }
    if (reason instanceof AfterwardError && reason.code === ErrorCode.TIMEOUT)
      return { status: 'timeout', error: reason }
  }
  return { status: 'failure', error: toError(err) }
}
