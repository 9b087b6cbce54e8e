// The optional scheduler capability of a driver: recurring jobs run once per tick across every
// instance, and the schedules as the broker holds them. Part of the driver interface (driver.ts).
import type { DeliveredJob, JobState } from './driver-records.js'
import type { ResolvedJobOptions } from './options.js'
import type { OverlapPolicy } from './schedule.js'

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
  overlap: OverlapPolicy
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
  overlap: OverlapPolicy
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
  claimRun(job: DeliveredJob, overlap: OverlapPolicy): Promise<boolean>
}
