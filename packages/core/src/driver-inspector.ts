// The reading and operating sides of a driver: looking jobs up, listing and counting them, and an
// operator's retry and remove. Part of the driver interface (driver.ts).
import type { JobDetail, JobInfo, QueueState } from './driver-records.js'

/** What `jobs.list` selects. Every filter is optional; without any, every job is listed. */
export interface JobListQuery {
  /** Only jobs in this state, or in any of these states. @defaultValue every state */
  state?: QueueState | readonly QueueState[]
  /** Only jobs of this task (its name). @defaultValue every task */
  task?: string
  /** Only jobs of this queue. @defaultValue every queue */
  queue?: string
  /** Jobs per page, 1 to 1000. @defaultValue 50 */
  limit?: number
  /** The `next` of the previous page, unchanged; omit it for the first page. */
  cursor?: string
}

/** One page of `jobs.list`: newest first (by `createdAt`, then by id). */
export interface JobListPage {
  jobs: JobInfo[]
  /** Pass it as `cursor` for the next page; absent on the last page. */
  next?: string
}

/** What `jobs.counts` counts. */
export interface JobCountsQuery {
  /** Only this queue. @defaultValue every queue the driver knows */
  queue?: string
}

/** How many jobs of a queue are in each state (a `pending` job is in no queue yet). */
export type JobCounts = Record<QueueState, number>

/** The counts of one queue. */
export interface QueueJobCounts {
  queue: string
  counts: JobCounts
}

/**
 * Reads jobs: `afterward.jobs`, and tools that only look (a CLI, a dashboard). Reads never
 * change a job.
 *
 * @example
 * const inspector: Inspector = bullmq({ connection: process.env.REDIS_URL! })
 * const { jobs, next } = await inspector.list({ state: 'failed', limit: 20 })
 */
export interface Inspector {
  /** The job with this id, or undefined when no stored job has it. */
  get(id: string): Promise<JobInfo | undefined>
  /** The job with this id and each failed attempt's error and stack, or undefined. */
  detail(id: string): Promise<JobDetail | undefined>
  /** The jobs deferred by a request, oldest first. */
  byRequest(requestId: string): Promise<JobInfo[]>
  /** Resolves with the job once it completed or failed for good; rejects after `timeoutMs`. */
  waitFor(id: string, timeoutMs: number): Promise<JobInfo>
  /**
   * One page of jobs, newest first. Paging is by position (creation time and id), so a page
   * never repeats a job of an earlier page, and jobs created after the first page do not push
   * later pages along. A bad query rejects with `AFTERWARD_OPTIONS_INVALID`.
   */
  list(query?: JobListQuery): Promise<JobListPage>
  /** Per queue (ordered by name), how many jobs are in each state. */
  counts(query?: JobCountsQuery): Promise<QueueJobCounts[]>
}

/**
 * Changes stored jobs on an operator's request: `afterward.jobs.retry` and `jobs.remove`, a
 * CLI, a dashboard's buttons. An id that no stored job has rejects with
 * `AFTERWARD_JOB_NOT_FOUND`; a job in a state that does not allow the change rejects with
 * `AFTERWARD_JOB_STATE_INVALID`.
 *
 * @example
 * const operator: Operator = bullmq({ connection: process.env.REDIS_URL! })
 * await operator.retry(failedJobId) // waiting again, with all its attempts
 */
export interface Operator {
  /**
   * Puts a failed job back to waiting, with its attempts reset: it gets all `maxAttempts` again,
   * and `ctx.job.attempt` starts at 1. Its last error is cleared (`detail` keeps the errors of
   * the earlier attempts, except on PostgreSQL). Resolves with the job as it now is. A job that is not `failed`
   * rejects with `AFTERWARD_JOB_STATE_INVALID`.
   */
  retry(id: string): Promise<JobInfo>
  /**
   * Deletes a job that is not running (waiting, delayed, completed or failed). An `active` job
   * rejects with `AFTERWARD_JOB_STATE_INVALID`: a worker holds it.
   */
  remove(id: string): Promise<void>
}
