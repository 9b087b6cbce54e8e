// The consumer side of a driver: how a worker takes jobs from it, how each attempt ends, and how
// jobs of dead workers are found again. Part of the driver interface (driver.ts).
import type { Logger } from 'pino'
import type { DeliveredJob } from './driver-records.js'

/**
 * How a durable driver finds the jobs of a worker that died: each running job holds a lock that
 * its worker renews every `lockDuration / 2`; other workers look every `stalledInterval` for
 * running jobs whose lock expired and put them back to run again.
 */
export interface StallOptions {
  /** ms a job's lock lasts without renewal. */
  lockDuration: number
  /** ms between two checks for jobs whose lock expired. */
  stalledInterval: number
  /** Times a job may be found stalled before it fails for good instead of running again. */
  maxStalledCount: number
}

/**
 * The end of one attempt, as the worker decided it (retry.ts); the driver's consumer carries it
 * out.
 */
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

/**
 * What `Driver.consume` is given by a worker. Every field is set: the worker applies its own
 * defaults (`WorkerOptions`) before it calls the driver.
 *
 * @example
 * const consumer = driver.consume({ queues: ['default'], concurrency: 10, log, handle, stalled })
 * await consumer.start()
 */
export interface ConsumeOptions {
  /**
   * Queues to take jobs from.
   * @defaultValue the worker's `queues`, by default those of its registered tasks
   */
  queues: readonly string[]
  /** Attempts run at once, per queue. @defaultValue the worker's `concurrency`, by default 10 */
  concurrency: number
  /** Crash recovery settings; drivers without crashes to recover from (memory()) ignore them. */
  stall: StallOptions
  /** For the driver's own messages (connection errors). @defaultValue the instance's logger */
  log: Logger
  /**
   * Runs one attempt and says how it ended; never rejects. The driver carries the end out:
   * `completed` completes the job, `retry` makes it wait `delay` ms and run again (the attempt
   * counts), `failed` fails it for good, `requeue` puts it back untouched (worker shutdown).
   * Retries are decided by the worker, once, for every driver (retry.ts).
   */
  handle(job: DeliveredJob): Promise<AttemptEnd>
  /**
   * Called by a driver that recovers the jobs of dead workers (see `StallOptions`) when it has
   * put a stalled job back in its queue: the worker running it stopped renewing its lock
   * (crashed, killed, blocked, or cut off from the broker). `job.attempt` is the attempt that
   * was cut off. `willRun` is false when the job has stalled more than `stall.maxStalledCount`
   * times: the broker then fails it for good instead of running it again. Never throws.
   * `memory()` never calls it: its jobs end with their process.
   */
  stalled(job: DeliveredJob, willRun: boolean): void
  /**
   * Called by such a driver when its broker failed a job for good without handing it to
   * `handle`: the job had stalled more than `stall.maxStalledCount` times (`stalled` said
   * `willRun: false`). `job.attempt` is the attempt it was on. Never throws.
   */
  stallLimitReached(job: DeliveredJob): void
}

/**
 * A driver's delivery loop for one worker, made by `Driver.consume`: it takes jobs from its
 * queues and hands each attempt to `ConsumeOptions.handle`.
 *
 * @example
 * const consumer = driver.consume(options)
 * await consumer.start()
 * // ...
 * await consumer.close()
 */
export interface Consumer {
  /** Resolves once the consumer is taking jobs. */
  start(): Promise<void>
  /**
   * Stops taking jobs and resolves when the attempts in progress have settled. With
   * `force`, resolves without waiting (the driver hands unfinished jobs back to the queue).
   *
   * @param force - Do not wait for the attempts in progress. @defaultValue false
   */
  close(force?: boolean): Promise<void>
}

/**
 * Delivers stored jobs to a worker: the side `afterward.worker()` reads from.
 *
 * @example
 * const consumer = driver.consume({ queues: ['default'], concurrency: 5, log, handle, stalled })
 * await consumer.start()
 */
export interface Delivery {
  /** A consumer of `options.queues`; it takes jobs once started. */
  consume(options: ConsumeOptions): Consumer
}

/**
 * The reason an attempt is aborted with when the worker shuts down past its grace period: the
 * attempt ends as `requeue`, and the job goes back to its queue without counting the attempt.
 */
export class RequeueJob extends Error {
  constructor() {
    super('worker shut down before the attempt finished; job handed back to the queue')
    this.name = 'RequeueJob'
  }
}
