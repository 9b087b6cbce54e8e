// Jobs that a driver found stalled (the worker running them stopped renewing their lock): put
// back in their queue (logged at warn, the `stalled` event), or, once one has stalled more than
// `maxStalledCount` times, failed for good by the broker without running again (logged at error,
// the `failed` event). Reported by the worker whose driver found them.
import type { DeliveredJob } from './driver.js'
import type { Runtime } from './runtime.js'
import { AfterwardError, ErrorCode } from './errors.js'
import { jobBindings } from './logger.js'
import { jobEvent } from './runtime.js'

/** Logs and reports one stalled job; never throws (the driver calls it from its own loop). */
export function reportStalled(
  runtime: Runtime,
  job: DeliveredJob,
  willRun: boolean,
  maxStalledCount: number,
): void {
  const { log, events } = runtime
  log.warn(
    { ...jobBindings(job), queue: job.options.queue, maxStalledCount },
    willRun
      ? 'job stalled: the worker running it stopped (crashed, killed, blocked or cut off from the broker); back in its queue, it runs again'
      : 'job stalled more than maxStalledCount times: it fails for good without running again',
  )
  if (events.has('stalled')) events.emit('stalled', jobEvent(job, job.attempt, { willRun }))
}

/** Logs and reports a job the broker failed for good because it stalled too often. */
export function reportStallLimit(
  runtime: Runtime,
  job: DeliveredJob,
  maxStalledCount: number,
): void {
  const { log, events } = runtime
  const error = new AfterwardError(
    ErrorCode.STALLED,
    `Job '${job.id}' (${job.task}) stalled more than maxStalledCount (${maxStalledCount}) times: its worker died or stopped renewing its lock during each run. It failed for good without running again; if the task crashes its process (memory, a native module), fix that, then retry the job.`,
  )
  log.error(
    { ...jobBindings(job), err: error, attempts: job.options.attempts },
    'job failed for good',
  )
  if (events.has('failed')) {
    events.emit('failed', jobEvent(job, job.attempt, { durationMs: 0, error }))
  }
}
