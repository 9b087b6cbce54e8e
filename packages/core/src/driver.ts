import type { Logger } from 'pino'
import type { ResolvedJobOptions } from './options.js'

/** Where a job is in its life. */
export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed'

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
}

/** A job handed to a consumer for one attempt. */
export interface DeliveredJob extends JobRecord {
  /** 1 for the first attempt. */
  attempt: number
}

/** For each record, in order: the id of the job that is now live for it. */
export interface EnqueueResult {
  /** The record's own id, or for a deduplicated `key` the id of the job already live. */
  id: string
  /** True when nothing was stored because a job with the same key was live. */
  deduplicated: boolean
}

/**
 * What `Driver.consume` is given by a worker. Every field is set: the worker applies its own
 * defaults (`WorkerOptions`) before it calls the driver.
 *
 * @example
 * const consumer = driver.consume({ queues: ['default'], concurrency: 10, log, handle })
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
  /** For the driver's own messages (connection errors). @defaultValue the instance's logger */
  log: Logger
  /**
   * Runs one attempt. Resolving completes the job. Rejecting fails the attempt: the driver
   * retries it after `backoffDelay(...)` while attempts remain and `error.retryable !== false`,
   * puts it back untouched for a `RequeueJob` (worker shutdown), and otherwise fails it for good.
   */
  handle(job: DeliveredJob): Promise<void>
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
 * Tells a driver that its caller gave up (`enqueueTimeout`). An `AbortSignal` is one; the
 * instance passes a plain flag, which costs nothing per enqueue.
 */
export interface GiveUpSignal {
  readonly aborted: boolean
}

/**
 * The storage and delivery of jobs. `memory()` and `bullmq()` implement it; a driver owns its
 * connections and exposes no connection type.
 */
export interface Driver {
  /** `memory` or `bullmq`, for logs. */
  readonly name: string
  /** Whether stored jobs survive the process. */
  readonly durable: boolean
  /**
   * Stores all records in one round trip (per queue), or rejects having stored none. When
   * `signal` aborts first (the caller gave up: `enqueueTimeout`), the driver rejects and removes
   * whatever it stored, so that a client told "not stored" is not lied to.
   *
   * The records are handed over: a driver may keep them as they are (`memory()` does), so the
   * caller must not change them afterwards. Afterward builds a fresh record, with a fresh copy of
   * the input, for every defer.
   */
  enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]>
  get(id: string): Promise<JobInfo | undefined>
  byRequest(requestId: string): Promise<JobInfo[]>
  /** Resolves with the job once it completed or failed for good; rejects after `timeoutMs`. */
  waitFor(id: string, timeoutMs: number): Promise<JobInfo>
  consume(options: ConsumeOptions): Consumer
  /** Releases connections. Consumers must be closed first. */
  close(): Promise<void>
}

/**
 * Rejection reason of `handle` that puts the job back to be run again later without counting
 * the attempt (worker shutdown past its grace period).
 */
export class RequeueJob extends Error {
  constructor() {
    super('worker shut down before the attempt finished; job handed back to the queue')
    this.name = 'RequeueJob'
  }
}
