import type { Logger } from 'pino'
import type { ResolvedJobOptions } from './options.js'
import type { AttemptEnd } from './retry.js'

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
  /** 1 for the first attempt; a run cut off by a crash or a shutdown does not count. */
  attempt: number
  /** True when an earlier run of this attempt was cut off (crash, lost lock, shutdown). */
  redelivered: boolean
}

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

/** For each record, in order: the id of the job that is now live for it. */
export interface EnqueueResult {
  /** The record's own id, or for a deduplicated `key` the id of the job already live. */
  id: string
  /** True when nothing was stored because a job with the same key was live. */
  deduplicated: boolean
}

export interface ConsumeOptions {
  queues: readonly string[]
  concurrency: number
  /** Crash recovery settings; drivers without crashes to recover from (memory()) ignore them. */
  stall: StallOptions
  log: Logger
  /**
   * Runs one attempt and says how it ended; never rejects. The driver carries the end out:
   * `completed` completes the job, `retry` makes it wait `delay` ms and run again (the attempt
   * counts), `failed` fails it for good, `requeue` puts it back untouched (worker shutdown).
   * Retries are decided by the worker, once, for every driver (retry.ts).
   */
  handle(job: DeliveredJob): Promise<AttemptEnd>
}

export interface Consumer {
  /** Resolves once the consumer is taking jobs. */
  start(): Promise<void>
  /**
   * Stops taking jobs and resolves when the attempts in progress have settled. With
   * `force`, resolves without waiting (the driver hands unfinished jobs back to the queue).
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
 * Enqueues jobs: the driver itself, or anything that stands in front of it (a scope's
 * `producer` option).
 */
export interface Producer {
  /**
   * Stores all records in one round trip (per queue), or rejects having stored none. When
   * `signal` aborts first (the caller gave up: `enqueueTimeout`), the producer rejects and
   * removes whatever it stored, so that a client told "not stored" is not lied to.
   */
  enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]>
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
 * The reason an attempt is aborted with when the worker shuts down past its grace period: the
 * attempt ends as `requeue`, and the job goes back to its queue without counting the attempt.
 */
export class RequeueJob extends Error {
  constructor() {
    super('worker shut down before the attempt finished; job handed back to the queue')
    this.name = 'RequeueJob'
  }
}
