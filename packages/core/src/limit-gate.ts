// The worker's side of task limits: before a job of a limited task starts, ask the driver's
// limiter for a concurrency slot and a rate window. A job held back goes back to its queue as
// delayed, without spending an attempt and without keeping a worker slot busy.
import type { Logger } from 'pino'
import type { DeliveredJob, Limiter, LimitRequest } from './driver.js'
import type { AnyTask } from './task.js'
import { AfterwardError, ErrorCode } from './errors.js'
import { limitKey } from './limits.js'
import { validateForRun } from './validate.js'

/** How a job passed its limits. */
export type GateResult =
  /** The task has no limits: run at once. */
  | { readonly type: 'open' }
  /** Run now; `leave()` once the attempt ended frees the slot. */
  | { readonly type: 'entered'; readonly startedAt: number; leave(): Promise<void> }
  /** Not now: back to the queue for `delay` ms. */
  | { readonly type: 'held'; readonly delay: number }

const OPEN: GateResult = Object.freeze({ type: 'open' })

/**
 * A concurrency slot may free at any moment: a held job looks again after 100 to 250 ms, spread
 * so that the jobs held together do not all come back at once.
 */
function slotWait(): number {
  return Math.round(100 + Math.random() * 150)
}

/** Whether a worker of these tasks needs a driver that can limit. */
export function hasLimits(task: AnyTask): boolean {
  return task.limit !== undefined || task.rate !== undefined
}

/**
 * Throws `AFTERWARD_LIMIT_KEY_INVALID` (the job then fails without retries) when a key function
 * throws or returns no string.
 */
export async function enterLimits(
  task: AnyTask,
  job: DeliveredJob,
  limiter: Limiter | undefined,
  lease: number,
  log: () => Logger,
): Promise<GateResult> {
  const { limit, rate } = task
  if (limit === undefined && rate === undefined) return OPEN
  if (limiter === undefined) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `Task '${task.name}' has a limit or rate, and this driver cannot enforce limits. Use memory() or bullmq().`,
    )
  }
  let input = job.input
  if (task.input && (limit?.key ?? rate?.key) !== undefined) {
    // Keys are computed from the input the task would receive; an invalid input is left for
    // the attempt to fail with its own error.
    try {
      input = await validateForRun(task, job.input)
    } catch {
      return OPEN
    }
  }
  const request: LimitRequest = {
    jobId: job.id,
    concurrency: limit && {
      key: limitKey(task.name, 'limit', limit.key, input),
      max: limit.concurrency,
      lease,
    },
    rate: rate && {
      key: limitKey(task.name, 'rate', rate.key, input),
      max: rate.max,
      per: rate.per,
    },
  }
  const decision = await limiter.acquire(request)
  if (!decision.granted) {
    const delay =
      decision.retryIn === undefined
        ? slotWait()
        : Math.ceil(decision.retryIn) + Math.round(Math.random() * 25)
    return { type: 'held', delay }
  }
  if (request.concurrency === undefined) {
    return { type: 'entered', startedAt: decision.startedAt, leave: () => Promise.resolve() }
  }
  // The slot is a lease: renewed while the job runs, so that a worker that dies frees it
  // within `lease` ms, as BullMQ frees the job's own lock.
  const renewal = setInterval(() => {
    decision.renew().catch((err: unknown) => log().warn({ err }, 'limit slot renewal failed'))
  }, lease / 2)
  renewal.unref()
  return {
    type: 'entered',
    startedAt: decision.startedAt,
    async leave() {
      clearInterval(renewal)
      try {
        await decision.release()
      } catch (err) {
        // The lease runs out on its own: the slot frees within `lease` ms.
        log().warn({ err }, 'limit slot release failed; it frees when its lease runs out')
      }
    },
  }
}
