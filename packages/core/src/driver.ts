import type { Logger } from 'pino'
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
 * Tells a driver that its caller gave up (`enqueueTimeout`). An `AbortSignal` is one; the
 * instance passes a plain flag, which costs nothing per enqueue.
 */
export interface GiveUpSignal {
  readonly aborted: boolean
}

/**
 * Enqueues jobs: the side a request scope, `afterward.enqueue` and `ctx.defer` write to. Each
 * driver is one, and anything that stands in front of a driver may be one too (a scope's
 * `producer` option, a transactional outbox).
 *
 * @example
 * // A producer in front of a driver, counting what it stores.
 * const driver = memory()
 * let stored = 0
 * const counting: Producer = {
 *   enqueue: async (records, signal) => {
 *     const results = await driver.enqueue(records, signal)
 *     stored += records.length
 *     return results
 *   },
 * }
 */
export interface Producer {
  /**
   * Stores all records in one round trip (per queue), or rejects having stored none. When
   * `signal` aborts first (the caller gave up: `enqueueTimeout`), the producer rejects and
   * removes whatever it stored, so that a client told "not stored" is not lied to.
   *
   * The records are handed over: a producer may keep them as they are (`memory()` does), so the
   * caller must not change them afterwards. Afterward builds a fresh record, with a fresh copy of
   * the input, for every defer.
   */
  enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]>
}

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

/**
 * A schedule as the instance hands it to a driver: checked, with its job options resolved.
 *
 * @example
 * await driver.scheduler?.upsert(record) // record.key: 'nightly-report:default'
 */
export interface ScheduleRecord {
  /** The broker's id of the schedule: `<task>:<id>`, unique per queue namespace. */
  key: string
  /** The schedule's id within its task. */
  id: string
  task: string
  /** A cron expression, e.g. `0 3 * * *` (exactly one of `cron` and `every`). */
  cron: string | undefined
  /** Interval in ms. */
  every: number | undefined
  /** IANA time zone of `cron`; undefined with `every`. */
  tz: string | undefined
  /** The input of every run. */
  input: unknown
  /** The options of every run (`delay` 0, no `key`). */
  options: ResolvedJobOptions
  overlap: 'skip' | 'allow'
  /** Hash of every field above: a stored schedule with another hash is out of date. */
  hash: string
}

/**
 * A schedule that Afterward stored in the broker, as far as reconciling needs it.
 *
 * @example
 * for (const s of await driver.scheduler!.stored()) console.log(s.queue, s.key, s.hash)
 */
export interface StoredSchedule {
  key: string
  queue: string
  hash: string
}

/**
 * A schedule as the broker holds it now, with its last run.
 *
 * @example
 * const [s] = await driver.scheduler!.list()
 * console.log(s?.key, s?.nextRunAt, s?.lastRun?.state)
 */
export interface ScheduleState extends StoredSchedule {
  id: string
  task: string
  cron: string | undefined
  every: number | undefined
  tz: string | undefined
  overlap: 'skip' | 'allow'
  /** When the next run is due, if one is planned. */
  nextRunAt: Date | undefined
  /** The last run that started (not one skipped for overlap), if any is still stored. */
  lastRun: { jobId: string; tick: Date; state: JobState } | undefined
}

/**
 * What `afterward.schedules.list()` returns for each schedule.
 *
 * @example
 * for (const s of await afterward.schedules.list()) console.log(s.key, s.nextRunAt, s.lastRun?.state)
 */
export type ScheduleInfo = Omit<ScheduleState, 'hash'>

/**
 * Optional capability of a driver that runs recurring jobs once per tick across any number of
 * instances. Each run is an ordinary job of the schedule's task, delivered with `schedule` set.
 * The instance decides what to change (schedule-sync.ts); the scheduler carries it out and keeps
 * the generation registry that stops older code from undoing newer code's schedules.
 *
 * @example
 * if (driver.scheduler) console.log(await driver.scheduler.list())
 */
export interface Scheduler {
  /** Runs `fn` holding the namespace's schedule lock: one reconcile at a time, across processes. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>
  /**
   * Registers the fingerprint of a whole schedule set, numbering a fingerprint not seen before
   * (or, with `force`, one that is not the newest) with the next generation. Resolves with its
   * generation and the newest generation of the namespace.
   */
  generation(fingerprint: string, force: boolean): Promise<{ generation: number; newest: number }>
  /** Every schedule Afterward stored in the namespace (never another application's). */
  stored(): Promise<StoredSchedule[]>
  /** Creates or replaces a schedule; its first run is planned from now. */
  upsert(schedule: ScheduleRecord): Promise<void>
  /** Removes a schedule and its planned run. */
  remove(schedule: StoredSchedule): Promise<void>
  /** Every schedule Afterward stored in the namespace, with its next and last run. */
  list(): Promise<ScheduleState[]>
  /**
   * Called as the first attempt of a scheduled run starts (not for its retries or
   * redeliveries). With overlap `skip`, resolves false (and records nothing)
   * when another run of the same schedule is active; otherwise records this job as the
   * schedule's last run and resolves true.
   */
  claimRun(job: DeliveredJob, overlap: 'skip' | 'allow'): Promise<boolean>
}

/** What one job asks of its task's limits before it starts (limit-gate.ts builds it). */
export interface LimitRequest {
  /** The job asking: a concurrency slot is held in its name. */
  jobId: string
  /** A slot among `max` for `key`, held until released (or `lease` ms without renewal). */
  concurrency?: { key: string; max: number; lease: number } | undefined
  /** A start among `max` in any window of `per` ms for `key`. */
  rate?: { key: string; max: number; per: number } | undefined
}

/** A limiter's answer: start now (and release the slot after), or wait `retryIn` ms. */
export type LimitDecision =
  | {
      readonly granted: true
      /** When the start was granted, on the limiter's clock (ms since the epoch). */
      readonly startedAt: number
      /** Extends the slot's lease by `lease` ms while the job runs. */
      renew(): Promise<void>
      /** Frees the concurrency slot (a no-op without one). */
      release(): Promise<void>
    }
  | {
      readonly granted: false
      /** How long to wait before asking again, in ms; undefined when a slot may free any time. */
      readonly retryIn: number | undefined
    }

/**
 * Optional capability of a driver that enforces task limits (`limit`, `rate`) across every
 * process that shares its broker. Checking a concurrency slot and a rate window is one atomic
 * step, so that a job never takes one without the other.
 *
 * @example
 * const decision = await driver.limiter!.acquire({
 *   jobId,
 *   concurrency: { key: 'sync-tenant#acme', max: 1, lease: 8_000 },
 * })
 * if (decision.granted) await decision.release()
 */
export interface Limiter {
  acquire(request: LimitRequest): Promise<LimitDecision>
}

/**
 * Optional capability of a driver that stands in front of a database outbox: jobs written with
 * `producerIn(tx)` exist if and only if that transaction commits, and a relay later moves them
 * to the broker with the same ids. `@afterward/prisma`'s `prismaOutbox(...).driver(inner)` is one.
 *
 * @example
 * const producer = driver.outbox?.producerIn(tx) // throws AfterwardError when tx is not usable
 */
export interface TransactionalOutbox {
  /**
   * A producer that writes records inside the transaction `tx` (the caller's transaction
   * client). Throws `AfterwardError` (`AFTERWARD_CONFIG_INVALID`) at once when `tx` is not one.
   */
  producerIn(tx: unknown): Producer
}

/**
 * A complete driver: a producer, an inspector, a delivery and an operator, with an optional
 * scheduler.
 * `memory()` and `bullmq()` return one; a driver owns its connections and exposes no
 * connection type. Code that needs one side only takes that capability (`Producer`,
 * `Inspector`, `Delivery`, `Operator`), which any driver is.
 *
 * @example
 * const driver: Driver = process.env.REDIS_URL ? bullmq({ connection: process.env.REDIS_URL }) : memory()
 * createAfterward({ tasks, driver })
 */
export interface Driver extends Producer, Inspector, Delivery, Operator {
  /** `memory` or `bullmq`, for logs. */
  readonly name: string
  /** Whether stored jobs survive the process. */
  readonly durable: boolean
  /** Present when the driver can run schedules (see `Scheduler`). @defaultValue undefined */
  readonly scheduler?: Scheduler
  /** Present when the driver can enforce task limits (see `Limiter`). @defaultValue undefined */
  readonly limiter?: Limiter
  /**
   * Present when jobs can be written inside a database transaction (see `TransactionalOutbox`):
   * `afterward.deferIn(tx, ...)` needs it. @defaultValue undefined
   */
  readonly outbox?: TransactionalOutbox
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
