// Schedules of the memory driver, with BullMQ's semantics in one process: one planned run per
// schedule, the next one planned when that run starts (so a tick missed while no worker runs
// gives one late run, never a burst), ticks from the same cron parser and `every` arithmetic.
// A planned run is a delayed job whose timer the driver clears on close; removing or changing a
// schedule removes its planned run. testDriver() runs the same scheduler on its test clock.
import type {
  DeliveredJob,
  JobRecord,
  ScheduleRecord,
  ScheduleState,
  Scheduler,
  StoredSchedule,
} from '../driver.js'
import type { Entry } from './memory-entry.js'
import { copyJson } from '../json.js'
import { nextCronTick, nextEveryTick, scheduleKey, type OverlapPolicy } from '../schedule.js'

interface Planned {
  record: ScheduleRecord
  /** The tick of the run planned next; its job waits, delayed, until then. */
  next: number
  /** The id of that job. */
  jobId: string
}

/** What the scheduler uses of the memory driver. */
export interface MemoryJobs {
  /** Stores a job (delayed by `options.delay` from `createdAt`). */
  add(record: JobRecord): void
  /**
   * Removes a job that has not started (a planned run of a schedule that changed); returns
   * whether there was one.
   */
  cancel(id: string): boolean
  get(id: string): Entry | undefined
  all(): Iterable<Entry>
}

const slot = (queue: string, key: string): string => `${queue}/${key}`

export class MemoryScheduler implements Scheduler {
  readonly #jobs: MemoryJobs
  readonly #planned = new Map<string, Planned>()
  readonly #generations = new Map<string, number>()
  readonly #lastRuns = new Map<string, string>() // slot -> job id
  #newest = 0
  #lock: Promise<unknown> = Promise.resolve()
  #closed = false
  readonly #now: () => number

  /** `now` is the clock ticks are planned by: real time, or a `testDriver()`'s test clock. */
  constructor(jobs: MemoryJobs, now: () => number = Date.now) {
    this.#jobs = jobs
    this.#now = now
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn)
    this.#lock = run.catch(() => undefined)
    return run
  }

  generation(fingerprint: string, force: boolean): Promise<{ generation: number; newest: number }> {
    const known = this.#generations.get(fingerprint)
    if (known === undefined || (force && known < this.#newest)) {
      this.#generations.set(fingerprint, ++this.#newest)
    }
    return Promise.resolve({
      generation: this.#generations.get(fingerprint)!,
      newest: this.#newest,
    })
  }

  stored(): Promise<StoredSchedule[]> {
    return Promise.resolve(
      [...this.#planned.values()].map(({ record }) => ({
        key: record.key,
        queue: record.options.queue,
        hash: record.hash,
      })),
    )
  }

  upsert(record: ScheduleRecord): Promise<void> {
    const key = slot(record.options.queue, record.key)
    const previous = this.#planned.get(key)
    // As BullMQ does: the planned run (if not running yet) is replaced, and an `every` schedule
    // whose interval did not change keeps its ticks.
    const replaced = previous !== undefined && this.#jobs.cancel(previous.jobId)
    const { every } = record
    const now = this.#now()
    let first: number
    if (every === undefined) first = nextCronTick(record.cron!, record.tz!, now)
    else if (previous?.record.every !== every) first = nextEveryTick(undefined, every, now)
    else first = replaced ? previous.next : nextEveryTick(previous.next, every, now)
    this.#planned.set(key, this.#plan(record, first))
    return Promise.resolve()
  }

  remove(stored: StoredSchedule): Promise<void> {
    const key = slot(stored.queue, stored.key)
    const planned = this.#planned.get(key)
    if (planned) this.#jobs.cancel(planned.jobId)
    this.#planned.delete(key)
    return Promise.resolve()
  }

  list(): Promise<ScheduleState[]> {
    return Promise.resolve(
      [...this.#planned.entries()].map(([key, { record, next }]) => {
        const last = this.#jobs.get(this.#lastRuns.get(key) ?? '')
        return {
          key: record.key,
          queue: record.options.queue,
          hash: record.hash,
          id: record.id,
          task: record.task,
          cron: record.cron,
          every: record.every,
          tz: record.tz,
          overlap: record.overlap,
          nextRunAt: new Date(next),
          lastRun: last && {
            jobId: last.record.id,
            tick: new Date(last.record.schedule!.tick),
            state: last.state,
          },
        }
      }),
    )
  }

  claimRun(job: DeliveredJob, overlap: OverlapPolicy): Promise<boolean> {
    const key = slot(job.options.queue, scheduleKey(job.task, job.schedule!.id))
    if (overlap === 'skip') {
      for (const entry of this.#jobs.all()) {
        const r = entry.record
        if (
          entry.state === 'active' &&
          r.id !== job.id &&
          r.schedule?.id === job.schedule!.id &&
          r.task === job.task &&
          r.options.queue === job.options.queue
        ) {
          return Promise.resolve(false)
        }
      }
    }
    this.#lastRuns.set(key, job.id)
    return Promise.resolve(true)
  }

  /** A scheduled run started: plan the schedule's next run, counted from now. */
  started(record: JobRecord): void {
    const key = slot(record.options.queue, scheduleKey(record.task, record.schedule!.id))
    const planned = this.#planned.get(key)
    if (this.#closed || planned?.jobId !== record.id) return
    const { every, cron, tz } = planned.record
    const now = this.#now()
    const next =
      every !== undefined
        ? nextEveryTick(planned.next, every, now)
        : nextCronTick(cron!, tz!, Math.max(planned.next, now))
    this.#planned.set(key, this.#plan(planned.record, next))
  }

  close(): void {
    this.#closed = true
  }

  /** Stores the job of the run due at `tick`, delayed until then. */
  #plan(record: ScheduleRecord, tick: number): Planned {
    const now = this.#now()
    const jobId = `repeat:${record.key}:${tick}`
    this.#jobs.add({
      id: jobId,
      task: record.task,
      input: copyJson(record.input),
      requestId: undefined,
      createdAt: now,
      options: { ...record.options, delay: Math.max(0, tick - now) },
      trace: undefined,
      schedule: { id: record.id, tick },
    })
    return { record, next: tick, jobId }
  }
}
