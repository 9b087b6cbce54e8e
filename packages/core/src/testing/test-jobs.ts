// The jobs a testDriver() recorded, on its test clock: storing them (dedup keys, due times),
// picking the next one due, carrying out how an attempt ended, and the Inspector and Operator
// calls that read and change them (`afterward.jobs.*`).
import type {
  AttemptEnd,
  EnqueueResult,
  Inspector,
  JobInfo,
  JobRecord,
  Operator,
} from '../driver.js'
import { AfterwardError, ErrorCode } from '../errors.js'
import { PRIORITY_RANK } from '../options.js'
import { jobNotFound, notRemovable, notRetryable } from '../drivers/error-info.js'
import {
  type Entry,
  dedupKey,
  detail,
  info,
  newEntry,
  recordFailure,
  resetForRetry,
} from '../drivers/memory-entry.js'
import { countJobs, listJobs } from '../drivers/memory-list.js'
import type { RecordedJob } from './assertions.js'
import type { TestClock } from './test-clock.js'

export interface TestEntry extends Entry {
  /** When the job is due on the test clock. */
  dueAt: number
}

export class TestJobs implements Inspector, Operator {
  readonly #entries = new Map<string, TestEntry>()
  readonly #liveKeys = new Map<string, string>() // dedup key -> job id
  readonly #queueNames = new Set<string>()
  readonly #finishWaiters = new Map<string, Set<() => void>>()
  readonly #clock: TestClock
  #seq = 0

  constructor(clock: TestClock) {
    this.#clock = clock
  }

  /** Stores a record, unless a job with its dedup key is live. */
  store(record: JobRecord): EnqueueResult {
    const key = dedupKey(record)
    const live = key === undefined ? undefined : this.#liveKeys.get(key)
    if (live !== undefined) return { id: live, deduplicated: true }
    if (key !== undefined) this.#liveKeys.set(key, record.id)
    const entry: TestEntry = { ...newEntry(record, this.#seq++), dueAt: 0 }
    this.#wait(entry, record.options.delay)
    // A schedule's next run, until it starts: clear() keeps it, and while its tick is ahead
    // runAll() does not move the clock to it and jobs() does not list it.
    if (record.schedule !== undefined) entry.planned = true
    this.#entries.set(record.id, entry)
    this.#queueNames.add(record.options.queue)
    return { id: record.id, deduplicated: false }
  }

  has(id: string): boolean {
    return this.#entries.has(id)
  }

  entry(id: string): TestEntry | undefined {
    return this.#entries.get(id)
  }

  all(): Iterable<TestEntry> {
    return this.#entries.values()
  }

  /** Removes a job that has not started (a schedule's planned run); returns whether there was one. */
  cancel(id: string): boolean {
    const entry = this.#entries.get(id)
    if (entry?.state !== 'delayed' && entry?.state !== 'waiting') return false
    this.#entries.delete(id)
    return true
  }

  /** A schedule's run planned for a tick the clock has not reached. */
  isAhead(entry: TestEntry): boolean {
    return entry.planned === true && entry.dueAt > this.#clock.now()
  }

  /** The recorded jobs, in defer order; a schedule's run shows once its tick has come. */
  recorded(): RecordedJob[] {
    this.#refresh()
    return [...this.#entries.values()].filter((e) => !this.isAhead(e)).map(recorded)
  }

  recordedOf(entry: TestEntry): RecordedJob {
    return recorded(entry)
  }

  /**
   * The next job due by `until`: earliest due, then by priority, then in defer order. With
   * `skipAhead`, a schedule's run whose tick has not come is left out.
   */
  next(until: number, skipAhead: boolean): TestEntry | undefined {
    let best: TestEntry | undefined
    for (const entry of this.#entries.values()) {
      if (entry.state !== 'waiting' && entry.state !== 'delayed') continue
      if (entry.dueAt > until || (skipAhead && this.isAhead(entry))) continue
      if (
        !best ||
        entry.dueAt < best.dueAt ||
        (entry.dueAt === best.dueAt &&
          (PRIORITY_RANK[entry.record.options.priority] <
            PRIORITY_RANK[best.record.options.priority] ||
            (entry.record.options.priority === best.record.options.priority &&
              entry.seq < best.seq)))
      ) {
        best = entry
      }
    }
    return best
  }

  /** Carries out how the worker said an attempt ended, as memory()'s consumer does. */
  carryOut(entry: TestEntry, end: AttemptEnd): void {
    switch (end.type) {
      case 'completed':
        return this.#finish(entry, 'completed')
      case 'requeue':
        entry.attemptsMade--
        return this.#wait(entry, 0)
      case 'wait':
        entry.attemptsMade--
        entry.deliveries--
        return this.#wait(entry, end.delay)
      case 'retry':
        recordFailure(entry, end.error)
        return this.#wait(entry, end.delay)
      case 'failed':
        recordFailure(entry, end.error)
        return this.#finish(entry, 'failed')
    }
  }

  /** Forgets every job but each schedule's next run, so that schedules go on. */
  clear(): void {
    for (const [id, entry] of this.#entries) {
      if (!entry.planned) this.#entries.delete(id)
    }
    this.#liveKeys.clear()
  }

  /** Delayed jobs whose time has come on the clock read as waiting, as on a broker. */
  #refresh(): void {
    const now = this.#clock.now()
    for (const entry of this.#entries.values()) {
      if (entry.state === 'delayed' && entry.dueAt <= now) entry.state = 'waiting'
    }
  }

  #wait(entry: TestEntry, delay: number): void {
    entry.dueAt = this.#clock.now() + Math.max(0, delay)
    entry.state = delay > 0 ? 'delayed' : 'waiting'
  }

  #finish(entry: TestEntry, state: 'completed' | 'failed'): void {
    entry.state = state
    entry.finishedAt = Date.now()
    const key = dedupKey(entry.record)
    if (key !== undefined && this.#liveKeys.get(key) === entry.record.id) {
      this.#liveKeys.delete(key)
    }
    this.#wake(entry.record.id)
  }

  #wake(id: string): void {
    const waiters = this.#finishWaiters.get(id)
    this.#finishWaiters.delete(id)
    for (const done of waiters ?? []) done()
  }

  get(id: string): Promise<JobInfo | undefined> {
    this.#refresh()
    const entry = this.#entries.get(id)
    return Promise.resolve(entry && info(entry))
  }

  detail(id: string): ReturnType<Inspector['detail']> {
    this.#refresh()
    const entry = this.#entries.get(id)
    return Promise.resolve(entry && detail(entry))
  }

  byRequest(requestId: string): Promise<JobInfo[]> {
    this.#refresh()
    const found = [...this.#entries.values()].filter((e) => e.record.requestId === requestId)
    return Promise.resolve(found.map(info))
  }

  waitFor(id: string, timeoutMs: number): Promise<JobInfo> {
    return new Promise<JobInfo>((resolve, reject) => {
      const entry = this.#entries.get(id)
      if (!entry) {
        return reject(
          new AfterwardError(ErrorCode.JOB_NOT_FOUND, `No job with id '${id}' was recorded.`),
        )
      }
      if (entry.state === 'completed' || entry.state === 'failed') return resolve(info(entry))
      const waiters = this.#finishWaiters.get(id) ?? new Set<() => void>()
      this.#finishWaiters.set(id, waiters)
      const timer = setTimeout(() => {
        waiters.delete(done)
        reject(
          new AfterwardError(
            ErrorCode.WAIT_TIMEOUT,
            `Job '${id}' did not finish within ${timeoutMs} ms (state: ${entry.state}). With testDriver(), jobs run only in runDue(), runUntil() or runAll().`,
          ),
        )
      }, timeoutMs)
      const done = (): void => {
        clearTimeout(timer)
        if (this.#entries.get(id) === entry) resolve(info(entry))
        else reject(jobNotFound(id)) // removed while waited for
      }
      waiters.add(done)
    })
  }

  list(query?: Parameters<Inspector['list']>[0]): ReturnType<Inspector['list']> {
    return Promise.resolve().then(() => (this.#refresh(), listJobs(this.#entries.values(), query)))
  }

  counts(query?: Parameters<Inspector['counts']>[0]): ReturnType<Inspector['counts']> {
    return Promise.resolve().then(
      () => (this.#refresh(), countJobs(this.#entries.values(), this.#queueNames, query)),
    )
  }

  // As on memory(): a retried job gets all its attempts again and runs on the next run.
  retry(id: string): Promise<JobInfo> {
    return Promise.resolve().then(() => {
      this.#refresh()
      const entry = this.#entries.get(id)
      if (!entry) throw jobNotFound(id)
      if (entry.state !== 'failed') throw notRetryable(id, entry.state)
      resetForRetry(entry)
      this.#wait(entry, 0)
      return info(entry)
    })
  }

  remove(id: string): Promise<void> {
    return Promise.resolve().then(() => {
      const entry = this.#entries.get(id)
      if (!entry) throw jobNotFound(id)
      if (entry.state === 'active') throw notRemovable(id)
      const key = dedupKey(entry.record)
      if (key !== undefined && this.#liveKeys.get(key) === id) this.#liveKeys.delete(key)
      this.#entries.delete(id)
      this.#wake(id)
    })
  }
}

function recorded(entry: TestEntry): RecordedJob {
  return { ...info(entry), options: entry.record.options, runAt: new Date(entry.dueAt) }
}
