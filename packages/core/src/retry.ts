// How an attempt ends, decided once, by the worker, for every driver: the drivers only carry the
// decision out (memory-consumer.ts schedules or finishes, the BullMQ consumer throws the error
// BullMQ needs).
import type { DeliveredJob } from './driver.js'
import { AfterwardError, RetryAfterError } from './errors.js'
import { backoffDelay } from './options.js'

/** The end of one attempt, as the worker decided it. */
export type AttemptEnd =
  | { readonly type: 'completed' }
  /** Run again after `delay` ms; the attempt counts. */
  | { readonly type: 'retry'; readonly error: Error; readonly delay: number }
  /** Failed for good: no attempts left, or the error said not to retry. */
  | { readonly type: 'failed'; readonly error: Error }
  /** Back to the queue without counting the attempt (the worker shut down during it). */
  | { readonly type: 'requeue' }
  /**
   * Run again after `delay` ms without counting the attempt: held back by a limit before it
   * started (`limit`), or asked by the task (`retry-after`).
   */
  | { readonly type: 'wait'; readonly delay: number; readonly reason: 'limit' | 'retry-after' }

export const COMPLETED: AttemptEnd = Object.freeze({ type: 'completed' })
export const REQUEUE: AttemptEnd = Object.freeze({ type: 'requeue' })

/** Whether an error allows another attempt: anything but an `AfterwardError` that says no. */
export function isRetryable(error: Error): boolean {
  return !(error instanceof AfterwardError) || error.retryable
}

/** A failed attempt: retried with the job's backoff while attempts remain and the error allows it. */
export function afterFailure(
  error: Error,
  job: Pick<DeliveredJob, 'attempt' | 'options'>,
): AttemptEnd {
  if (error instanceof RetryAfterError)
    return { type: 'wait', delay: error.ms, reason: 'retry-after' }
  if (isRetryable(error) && job.attempt < job.options.attempts) {
    return { type: 'retry', error, delay: backoffDelay(job.options.backoff, job.attempt) }
  }
  return { type: 'failed', error }
}
