// Schedules of the memory driver, with BullMQ's semantics in one process: one planned run per
// schedule, the next one planned when that run starts (so a tick missed while no worker runs
// gives one late run, never a burst), ticks from the same cron parser and `every` arithmetic.
// Timers are cleared when a schedule is removed and when the driver closes.
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
import { nextCronTick, nextEveryTick } from '../schedule.js'

interface Planned {
  record: ScheduleRecord
  /** The tick of the run planned next (its job exists once the tick has come). */
  next: number
  timer: NodeJS.Timeout | undefined
}

/** What the scheduler uses of the memory driver. */
export interface MemoryJobs {
  /** Stores a job (waiting at once) and offers it to the consumers. */
  add(record: JobRecord): void
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

  constructor(jobs: MemoryJobs) {
    this.#jobs = jobs
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
    clearTimeout(this.#planned.get(key)?.timer)
    const now = Date.now()
    const first =
      record.every !== undefined
        ? nextEveryTick(undefined, record.every, now)
        : nextCronTick(record.cron!, record.tz!, now)
    const planned: Planned = { record, next: first, timer: undefined }
    this.#planned.set(key, planned)
    this.#plan(planned)
    return Promise.resolve()
  }

  remove(stored: StoredSchedule): Promise<void> {
    const key = slot(stored.queue, stored.key)
    clearTimeout(this.#planned.get(key)?.timer)
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

  claimRun(job: DeliveredJob, overlap: 'skip' | 'allow'): Promise<boolean> {
    const key = slot(job.options.queue, `${job.task}:${job.schedule!.id}`)
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
    const planned = this.#planned.get(
      slot(record.options.queue, record.task + ':' + record.schedule!.id),
    )
    if (!planned || planned.timer !== undefined || planned.next !== record.schedule!.tick) return
    const { every, cron, tz } = planned.record
    const now = Date.now()
    planned.next =
      every !== undefined
        ? nextEveryTick(planned.next, every, now)
        : nextCronTick(cron!, tz!, Math.max(planned.next, now))
    this.#plan(planned)
  }

  close(): void {
    this.#closed = true
    for (const planned of this.#planned.values()) clearTimeout(planned.timer)
  }

  #plan(planned: Planned): void {
    if (this.#closed) return
    planned.timer = setTimeout(
      () => {
        planned.timer = undefined
        const { record, next: tick } = planned
        this.#jobs.add({
          id: `repeat:${record.key}:${tick}`,
          task: record.task,
          input: copyJson(record.input),
          requestId: undefined,
          createdAt: Date.now(),
          options: record.options,
          trace: undefined,
          schedule: { id: record.id, tick },
        })
      },
      Math.max(0, planned.next - Date.now()),
    )
  }
}
