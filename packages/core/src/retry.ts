// How an attempt ends (`AttemptEnd`, in driver-delivery.ts), decided once, by the worker, for every driver: the drivers only carry the
// decision out (memory-consumer.ts schedules or finishes, the BullMQ consumer throws the error
// BullMQ needs).
import type { AttemptEnd, DeliveredJob } from './driver.js'
import { AfterwardError, RetryAfterError } from './errors.js'
import { backoffDelay } from './options.js'

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
