import type { Logger } from 'pino'
import type { AcquireInfo, ContextProviders, TaskOutcome } from './context.js'
import type { DeferScope } from './defer-scope.js'
import type { DeliveredJob } from './driver.js'
import type { AnyTask, JobMeta, TaskContext } from './task.js'
import { RequeueJob } from './driver.js'
import { AfterwardError, ErrorCode, toError } from './errors.js'
import { validateForRun } from './validate.js'

export interface AttemptInput {
  job: DeliveredJob
  task: AnyTask
  providers: ContextProviders
  /** Buffer for `ctx.defer`; flushed only after success and after contexts are released. */
  scope: DeferScope
  log: Logger
  /** Aborts when the worker gives up waiting at shutdown. */
  shutdown: AbortSignal
}

/**
 * One attempt of one job. Never throws: the outcome says how it ended. Contexts acquired are
 * always released, in reverse order, with that outcome; a failed release after a successful
 * run (a commit that failed) turns the outcome into a failure.
 */
export async function runAttempt(input: AttemptInput): Promise<TaskOutcome> {
  const { job, task, providers, scope, log, shutdown } = input
  const timeout = job.options.timeout
  const controller = new AbortController()
  const deadline = timeout === undefined ? undefined : Date.now() + timeout
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => {
          controller.abort(
            new AfterwardError(
              ErrorCode.TIMEOUT,
              `Task '${task.name}' timed out after ${timeout} ms (attempt ${job.attempt}).`,
            ),
          )
        }, timeout)
  const onShutdown = (): void => controller.abort(new RequeueJob())
  if (shutdown.aborted) onShutdown()
  else shutdown.addEventListener('abort', onShutdown, { once: true })

  const meta: JobMeta = {
    id: job.id,
    task: job.task,
    queue: job.options.queue,
    attempt: job.attempt,
    attempts: job.options.attempts,
    requestId: job.requestId,
    key: job.options.key,
    createdAt: new Date(job.createdAt),
    trace: job.trace,
  }
  // Not `{ ...meta, signal, deadline }`: V8 builds spread-then-extend objects slowly.
  const acquireInfo: AcquireInfo = Object.assign({ signal: controller.signal, deadline }, meta)
  const acquired: { name: string; value: unknown }[] = []
  let outcome: TaskOutcome
  try {
    controller.signal.throwIfAborted() // the worker is past its grace period already
    // Inside the deadline too: an async schema or a provider that hangs must not hang the job.
    // Without a schema there is nothing to wait for, nor a race to set up.
    const value = task.input
      ? await raceAbort(validateForRun(task, job.input), controller.signal)
      : job.input
    for (const [name, provider] of Object.entries(providers)) {
      const acquiring = Promise.resolve().then(() => provider.acquire(acquireInfo))
      try {
        acquired.push({ name, value: await raceAbort(acquiring, controller.signal) })
      } catch (err) {
        if (controller.signal.aborted) releaseLate(acquiring, provider, controller.signal, log)
        throw new AfterwardError(
          ErrorCode.CONTEXT_FAILED,
          `Context '${name}' failed to acquire: ${toError(err).message}`,
          {
            cause: err,
          },
        )
      }
    }
    const ctx: Record<string, unknown> = {
      job: meta,
      signal: controller.signal,
      log,
      defer: scope.defer.bind(scope),
    }
    // createAfterward refuses context names that would hide the keys above.
    for (const { name, value: provided } of acquired) ctx[name] = provided
    // Called at once (a throw lands in the catch below); only a promise has a deadline to race.
    const running = task.run(value, ctx as TaskContext)
    if (isThenable(running)) await raceAbort(Promise.resolve(running), controller.signal)
    outcome = { status: 'success', error: undefined }
  } catch (err) {
    outcome = classify(err, controller.signal)
  } finally {
    clearTimeout(timer)
    shutdown.removeEventListener('abort', onShutdown)
  }

  for (const { name, value } of acquired.reverse()) {
    try {
      await providers[name]!.release?.(value, outcome)
    } catch (err) {
      const error = new AfterwardError(
        ErrorCode.CONTEXT_FAILED,
        `Context '${name}' failed to release: ${toError(err).message}`,
        {
          cause: err,
        },
      )
      if (outcome.status === 'success') outcome = { status: 'failure', error }
      else log.error({ err: error }, 'context release failed')
    }
  }

  if (outcome.status !== 'success') {
    const dropped = scope.discard()
    if (dropped > 0) log.debug({ dropped }, 'follow-up jobs dropped: the task did not succeed')
    return outcome
  }
  try {
    await scope.flush()
  } catch (err) {
    return { status: 'failure', error: toError(err) }
  }
  return outcome
}

/** A context acquired after the attempt gave up on it is released at once, not leaked. */
function releaseLate(
  acquiring: Promise<unknown>,
  provider: ContextProviders[string],
  signal: AbortSignal,
  log: Logger,
): void {
  acquiring.then(
    async (value) => {
      try {
        await provider.release?.(value, classify(signal.reason, signal))
      } catch (err) {
        log.error({ err }, 'release of a late context failed')
      }
    },
    () => undefined,
  )
}

function classify(err: unknown, signal: AbortSignal): TaskOutcome {
  if (signal.aborted) {
    const reason: unknown = signal.reason
    if (reason instanceof RequeueJob) return { status: 'shutdown', error: reason }
    if (reason instanceof AfterwardError && reason.code === ErrorCode.TIMEOUT)
      return { status: 'timeout', error: reason }
  }
  return { status: 'failure', error: toError(err) }
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error as Error)
      },
    )
  })
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}
