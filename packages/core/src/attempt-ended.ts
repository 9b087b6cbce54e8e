// How an attempt that started ended, told to the logs and to the lifecycle events: completed
// (debug), retrying (warn), failed for good (error), or handed back to its queue (info). The worker
// reports every attempt it started through it; stalled jobs are reported by stalled.ts.
import type { Logger } from 'pino'
import type { AttemptEnd, DeliveredJob } from './driver.js'
import type { Runtime } from './runtime.js'
import { jobEvent } from './runtime.js'

/** Logs and reports how an attempt ended; returns `end`, which the worker hands to the driver. */
export function reportAttemptEnd(
  runtime: Runtime,
  job: DeliveredJob,
  end: AttemptEnd,
  started: number,
  log: () => Logger,
): AttemptEnd {
  const { events, log: rootLog } = runtime
  const durationMs = performance.now() - started
  const ms = Math.round(durationMs)
  const attempts = job.options.attempts
  switch (end.type) {
    case 'completed':
      if (rootLog.isLevelEnabled('debug')) log().debug({ ms }, 'job completed')
      if (events.has('completed')) {
        events.emit('completed', jobEvent(job, job.attempt, { durationMs }))
      }
      break
    case 'retry':
      log().warn({ err: end.error, ms, attempts }, 'job attempt failed; will retry')
      if (events.has('retrying')) {
        events.emit(
          'retrying',
          jobEvent(job, job.attempt, {
            durationMs,
            error: end.error,
            delayMs: end.delay,
          }),
        )
      }
      break
    case 'failed':
      log().error({ err: end.error, ms, attempts }, 'job failed for good')
      if (events.has('failed')) {
        events.emit('failed', jobEvent(job, job.attempt, { durationMs, error: end.error }))
      }
      break
    case 'wait':
      log().info(
        { ms, delayMs: end.delay },
        'job handed back to its queue: it asked to retry later',
      )
      if (events.has('handed-back')) {
        events.emit('handed-back', jobEvent(job, job.attempt, { durationMs }))
      }
      break
    case 'requeue':
      log().info({ ms }, 'job handed back to its queue (worker shut down)')
      if (events.has('handed-back')) {
        events.emit('handed-back', jobEvent(job, job.attempt, { durationMs }))
      }
      break
  }
  return end
}
