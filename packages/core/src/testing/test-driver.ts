// A driver for users' own tests: defer and enqueue record jobs, and runDue() / runAll() run them
// inline, one at a time, through the worker that consumes from it (the real pipeline: input
// validation, context providers, timeout, retry decisions, ctx.defer), on a clock the test moves.
import type {
  AttemptEnd,
  ConsumeOptions,
  Consumer,
  Driver,
  EnqueueResult,
  GiveUpSignal,
  JobInfo,
  JobRecord,
} from '../driver.js'
import type { AnyTask } from '../task.js'
import { AfterwardError, ErrorCode } from '../errors.js'
import { PRIORITY_RANK } from '../options.js'
import {
  attemptError,
  errorInfo,
  jobNotFound,
  notRemovable,
  notRetryable,
} from '../drivers/error-info.js'
import { type Entry, detail, info, newEntry, startAttempt } from '../drivers/memory-entry.js'
import { countJobs, listJobs } from '../drivers/memory-list.js'
import { memoryLimiter } from '../drivers/memory-limiter.js'
import {
  assertDeferred,
  assertNothingDeferred,
  matches,
  type DeferredExpectation,
  type RecordedJob,
  type RecordedJobFilter,
} from './assertions.js'
import { createTestClock, type TestClock } from './test-clock.js'

/**
 * Options of `testDriver()`.
 *
 * @example
 * const driver = testDriver({ now: new Date('2030-01-01T00:00:00Z'), maxAttempts: 100 })
 */
export interface TestDriverOptions {
  /** Where the test clock starts. @defaultValue the current time */
  now?: Date | number
  /**
   * Attempts one `runDue()` or `runAll()` call makes at most before it rejects with
   * `AFTERWARD_WAIT_TIMEOUT` (a task that defers itself forever). @defaultValue 1_000
   */
  maxAttempts?: number
}

/**
 * The driver of `@afterward/core/testing`: records jobs, runs them when the test says so.
 *
 * @example
 * driver.assertDeferred(sendWelcomeEmail, { input: { userId: 1 } })
 * await driver.runAll()
 */
export interface TestDriver extends Driver {
  /** The clock that delays, backoff and held-back jobs are due by. */
  readonly clock: TestClock
  /** The recorded jobs, in the order they were deferred (deduplicated defers are not stored). */
  jobs(filter?: RecordedJobFilter): RecordedJob[]
  /**
   * Throws an `AssertionError` listing every recorded job unless a job of `task` matches
   * `expected` (input in its JSON form, request id, options); returns that job.
   */
  assertDeferred<T extends AnyTask>(task: T, expected?: DeferredExpectation<T>): RecordedJob
  /** Throws an `AssertionError` listing them if any recorded job matches `filter`. */
  assertNothingDeferred(filter?: RecordedJobFilter): void
  /**
   * Runs every job that is due on the test clock, one at a time, including follow-ups
   * (`ctx.defer`) and retries that are due at once, until none is due. Resolves with the jobs
   * that completed or failed for good during the call. A job is run by the started worker
   * that takes its queue; rejects with `AFTERWARD_CONFIG_INVALID` when there is none.
   */
  runDue(): Promise<RecordedJob[]>
  /**
   * Like `runDue()`, but when nothing is due it moves the clock to the next delayed job (a
   * `delay`, a retry's backoff) and goes on, until every job completed or failed.
   */
  runAll(): Promise<RecordedJob[]>
  /** Forgets every recorded job (e.g. in `beforeEach`). */
  clear(): void
}

interface TestEntry extends Entry {
  dueAt: number
}

/**
 * A driver for your tests: `defer` and `enqueue` record jobs instead of storing them, assertions
 * say which tasks were deferred (by which request, with what input and options), and `runDue()`
 * / `runAll()` run the jobs through your real worker and context providers, retries included,
 * on a clock that only your test moves.
 *
 * @example
 * const driver = testDriver()
 * const afterward = createAfterward({ tasks, driver, context: { db: prismaContext(prisma) } })
 * await afterward.worker().start()
 * const res = await app.inject({ method: 'POST', url: '/signup', payload: { email } })
 * driver.assertDeferred(sendWelcomeEmail, { requestId: res.headers['x-request-id'] as string })
 * await driver.runAll()
 */
export function testDriver(options: TestDriverOptions = {}): TestDriver {
  const clock = createTestClock(options.now)
  const maxAttempts = options.maxAttempts ?? 1_000
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `testDriver: maxAttempts must be an integer >= 1 (got ${String(maxAttempts)}).`,
    )
  }
  const jobs = new Map<string, TestEntry>()
  const liveKeys = new Map<string, string>() // dedup key -> job id
  const queueNames = new Set<string>()
  const consumers: { options: ConsumeOptions; running: Set<Promise<unknown>> }[] = []
  const finishWaiters = new Map<string, Set<() => void>>()
  let seq = 0
  let closed = false
  let running = false

  const dedupKey = (r: JobRecord): string | undefined =>
    r.options.key === undefined
      ? undefined
      : `${r.options.queue}\u0000${r.task}\u0000${r.options.key}`

  /** Delayed jobs whose time has come on the clock read as waiting, as on a broker. */
  function refresh(): void {
    const now = clock.now()
    for (const entry of jobs.values()) {
      if (entry.state === 'delayed' && entry.dueAt <= now) entry.state = 'waiting'
    }
  }

  function recorded(entry: TestEntry): RecordedJob {
    return { ...info(entry), options: entry.record.options, runAt: new Date(entry.dueAt) }
  }

  function wait(entry: TestEntry, delay: number): void {
    entry.dueAt = clock.now() + Math.max(0, delay)
    entry.state = delay > 0 ? 'delayed' : 'waiting'
  }

  function finish(entry: TestEntry, state: 'completed' | 'failed'): void {
    entry.state = state
    entry.finishedAt = Date.now()
    const key = dedupKey(entry.record)
    if (key !== undefined && liveKeys.get(key) === entry.record.id) liveKeys.delete(key)
    const waiters = finishWaiters.get(entry.record.id)
    finishWaiters.delete(entry.record.id)
    for (const done of waiters ?? []) done()
  }

  /** The next job due by `until`: earliest due, then by priority, then in defer order. */
  function next(until: number): TestEntry | undefined {
    let best: TestEntry | undefined
    for (const entry of jobs.values()) {
      if (entry.state !== 'waiting' && entry.state !== 'delayed') continue
      if (entry.dueAt > until) continue
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

  async function attempt(entry: TestEntry): Promise<void> {
    const queue = entry.record.options.queue
    const consumer = consumers.find((c) => c.options.queues.includes(queue))
    if (!consumer) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `testDriver: job '${entry.record.id}' (${entry.record.task}) is in queue '${queue}' and no started worker takes it. Call await afterward.worker().start() before runDue() or runAll().`,
      )
    }
    const delivered = startAttempt(entry)
    const run = consumer.options.handle(delivered)
    consumer.running.add(run)
    let end: AttemptEnd
    try {
      end = await run
    } finally {
      consumer.running.delete(run)
    }
    carryOut(entry, end)
  }

  function carryOut(entry: TestEntry, end: AttemptEnd): void {
    switch (end.type) {
      case 'completed':
        return finish(entry, 'completed')
      case 'requeue':
        entry.attemptsMade--
        return wait(entry, 0)
      case 'wait':
        entry.attemptsMade--
        entry.deliveries--
        return wait(entry, end.delay)
      case 'retry':
        entry.lastError = errorInfo(end.error)
        entry.errors.push(attemptError(end.error))
        return wait(entry, end.delay)
      case 'failed':
        entry.lastError = errorInfo(end.error)
        entry.errors.push(attemptError(end.error))
        return finish(entry, 'failed')
    }
  }

  async function run(advance: boolean): Promise<RecordedJob[]> {
    if (running) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        'testDriver: runDue() or runAll() is already running; await it before calling again.',
      )
    }
    running = true
    const finished: TestEntry[] = []
    try {
      for (let attempts = 0; ; attempts++) {
        const entry = next(advance ? Infinity : clock.now())
        if (!entry) break
        if (attempts === maxAttempts) {
          throw new AfterwardError(
            ErrorCode.WAIT_TIMEOUT,
            `testDriver: ${maxAttempts} attempts made and jobs still remain (next: '${entry.record.task}'). A task may be deferring itself forever; raise testDriver({ maxAttempts }) if not.`,
          )
        }
        if (entry.dueAt > clock.now()) clock.set(entry.dueAt)
        await attempt(entry)
        if (entry.state === 'completed' || entry.state === 'failed') finished.push(entry)
      }
    } finally {
      running = false
    }
    refresh()
    return finished.map(recorded)
  }

  const driver: TestDriver = {
    name: 'test',
    durable: false,
    clock,
    // Jobs run one at a time, on the test clock: limits hold as they would in one process.
    limiter: memoryLimiter(clock.now),

    async enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]> {
      if (closed) throw new AfterwardError(ErrorCode.CLOSED, 'The test driver is closed.')
      await Promise.resolve() // stored asynchronously, like a broker
      if (signal?.aborted) throw new AfterwardError(ErrorCode.ENQUEUE_FAILED, 'Enqueue abandoned.')
      return records.map((record): EnqueueResult => {
        const key = dedupKey(record)
        const live = key === undefined ? undefined : liveKeys.get(key)
        if (live !== undefined) return { id: live, deduplicated: true }
        if (key !== undefined) liveKeys.set(key, record.id)
        const entry: TestEntry = { ...newEntry(record, seq++), dueAt: 0 }
        wait(entry, record.options.delay)
        jobs.set(record.id, entry)
        queueNames.add(record.options.queue)
        return { id: record.id, deduplicated: false }
      })
    },

    jobs(filter = {}) {
      refresh()
      const all = [...jobs.values()].map(recorded)
      return all.filter((job) => matches(job, filter))
    },

    assertDeferred(task, expected) {
      return assertDeferred(driver.jobs(), task, expected)
    },

    assertNothingDeferred(filter) {
      assertNothingDeferred(driver.jobs(), filter)
    },

    runDue: () => run(false),
    runAll: () => run(true),

    clear() {
      jobs.clear()
      liveKeys.clear()
    },

    get(id) {
      refresh()
      const entry = jobs.get(id)
      return Promise.resolve(entry && info(entry))
    },

    detail(id) {
      refresh()
      const entry = jobs.get(id)
      return Promise.resolve(entry && detail(entry))
    },

    // As on memory(): a retried job gets all its attempts again and runs on the next run.
    retry(id) {
      return Promise.resolve().then(() => {
        refresh()
        const entry = jobs.get(id)
        if (!entry) throw jobNotFound(id)
        if (entry.state !== 'failed') throw notRetryable(id, entry.state)
        entry.attemptsMade = 0
        entry.deliveries = 0
        entry.lastError = undefined
        entry.startedAt = undefined
        entry.finishedAt = undefined
        wait(entry, 0)
        return info(entry)
      })
    },

    remove(id) {
      return Promise.resolve().then(() => {
        const entry = jobs.get(id)
        if (!entry) throw jobNotFound(id)
        if (entry.state === 'active') throw notRemovable(id)
        const key = dedupKey(entry.record)
        if (key !== undefined && liveKeys.get(key) === id) liveKeys.delete(key)
        jobs.delete(id)
        const waiters = finishWaiters.get(id)
        finishWaiters.delete(id)
        for (const done of waiters ?? []) done()
      })
    },

    byRequest(requestId) {
      refresh()
      const found = [...jobs.values()].filter((e) => e.record.requestId === requestId)
      return Promise.resolve(found.map(info))
    },

    waitFor(id, timeoutMs) {
      return new Promise<JobInfo>((resolve, reject) => {
        const entry = jobs.get(id)
        if (!entry) {
          return reject(
            new AfterwardError(ErrorCode.JOB_NOT_FOUND, `No job with id '${id}' was recorded.`),
          )
        }
        if (entry.state === 'completed' || entry.state === 'failed') return resolve(info(entry))
        const waiters = finishWaiters.get(id) ?? new Set<() => void>()
        finishWaiters.set(id, waiters)
        const timer = setTimeout(() => {
          waiters.delete(done)
          reject(
            new AfterwardError(
              ErrorCode.WAIT_TIMEOUT,
              `Job '${id}' did not finish within ${timeoutMs} ms (state: ${entry.state}). With testDriver(), jobs run only in runDue() or runAll().`,
            ),
          )
        }, timeoutMs)
        const done = (): void => {
          clearTimeout(timer)
          if (jobs.get(id) === entry) resolve(info(entry))
          else reject(jobNotFound(id)) // removed while waited for
        }
        waiters.add(done)
      })
    },

    list: (query) => Promise.resolve().then(() => (refresh(), listJobs(jobs.values(), query))),

    counts: (query) =>
      Promise.resolve().then(() => (refresh(), countJobs(jobs.values(), queueNames, query))),

    consume(consumeOptions): Consumer {
      const consumer = { options: consumeOptions, running: new Set<Promise<unknown>>() }
      return {
        start() {
          consumers.push(consumer)
          return Promise.resolve()
        },
        async close(force = false) {
          const i = consumers.indexOf(consumer)
          if (i >= 0) consumers.splice(i, 1)
          if (!force) await Promise.allSettled([...consumer.running])
        },
      }
    },

    close() {
      closed = true
      return Promise.resolve()
    },
  }
  return driver
}
