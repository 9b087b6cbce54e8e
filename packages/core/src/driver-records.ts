// Jobs as a driver stores, delivers and reports them: the record a producer stores, the job a
// consumer is handed for one attempt, and what inspection returns. Part of the driver interface
// (driver.ts).
import type { ResolvedJobOptions } from './options.js'

/**
 * Where a job is in its life. `pending`: written to a transactional outbox by a committed
 * transaction and not yet moved to the broker by a relay (see `Driver.outbox`); only
 * `jobs.get` and `jobs.byRequest` report it.
 */
export type JobState = 'pending' | QueueState

/**
 * The states of a job in the broker's queues: every state but `pending`.
 *
 * @example
 * await afterward.jobs.list({ state: ['waiting', 'delayed'] satisfies QueueState[] })
 */
export type QueueState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed'

/** What `afterward.jobs.get(id)` and `jobs.byRequest(requestId)` return. */
export interface JobInfo {
  id: string
  task: string
  queue: string
  state: JobState
  /** The stored (JSON) input. */
  input: unknown
  requestId: string | undefined
  key: string | undefined
  /** Attempts started so far (including one that is running). */
  attemptsMade: number
  /** Attempts allowed in total. */
  maxAttempts: number
  /** The error of the last failed attempt, if any. */
  lastError: { message: string; code: string | undefined } | undefined
  createdAt: Date
  /** When the last attempt started. */
  startedAt: Date | undefined
  /** When the job completed or failed for good. */
  finishedAt: Date | undefined
  /** Set when a schedule created the job: its id and the tick the run is for. */
  schedule?: { id: string; tick: Date } | undefined
}

/** The error of one failed attempt, as `jobs.detail` returns it. */
export interface AttemptError {
  message: string
  /** The `AfterwardError` code, when the attempt failed with one. */
  code: string | undefined
  /** The error's stack as the worker saw it; undefined when the error had none. */
  stack: string | undefined
}

/** What `afterward.jobs.detail(id)` returns: a job and the error of each failed attempt. */
export interface JobDetail extends JobInfo {
  /**
   * One entry per failed attempt, oldest first. Kept when an operator retries the job, so the
   * errors of the runs before the retry stay visible, except on BullMQ's PostgreSQL backend,
   * whose retry drops them.
   */
  errors: AttemptError[]
}

/** A job as handed to a driver for storage: ids and options are final. */
export interface JobRecord {
  id: string
  task: string
  input: unknown
  requestId: string | undefined
  createdAt: number
  options: ResolvedJobOptions
  /** W3C trace context carried from the request (e.g. `traceparent`). */
  trace: Record<string, string> | undefined
  /** Set when a schedule created the job. */
  schedule?: JobSchedule | undefined
}

/** A job handed to a consumer for one attempt. */
export interface DeliveredJob extends JobRecord {
  /** 1 for the first attempt; a run cut off by a crash or a shutdown does not count. */
  attempt: number
  /** True when an earlier run of this attempt was cut off (crash, lost lock, shutdown). */
  redelivered: boolean
}

/**
 * Where a scheduled job comes from: its schedule and the tick it runs for.
 *
 * @example
 * if (job.schedule) console.log(job.schedule.id, new Date(job.schedule.tick))
 */
export interface JobSchedule {
  /** The schedule's id within its task (`'default'` for a task's only schedule). */
  id: string
  /** The tick this run is for (ms since the epoch): when the schedule was due. */
  tick: number
}
