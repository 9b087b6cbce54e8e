// A job that a driver found stalled (the worker running it stopped renewing its lock) and put
// back in its queue: logged at warn (error when it will not run again) and reported as the
// `stalled` lifecycle event, by the worker whose driver found it.
import type { DeliveredJob } from './driver.js'
import type { Runtime } from './runtime.js'
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
  const fields = { ...jobBindings(job), queue: job.options.queue, maxStalledCount }
  if (willRun) {
    log.warn(
      fields,
      'job stalled: the worker running it stopped (crashed, killed, blocked or cut off from the broker); back in its queue, it runs again',
    )
  } else {
    log.error(
      fields,
      'job stalled more than maxStalledCount times: it fails for good without running again',
    )
  }
  if (events.has('stalled')) events.emit('stalled', { ...jobEvent(job, job.attempt), willRun })
}
