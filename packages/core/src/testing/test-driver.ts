// A driver for users' own tests: defer and enqueue record jobs (test-jobs.ts), and runDue(),
// runUntil() and runAll() run them inline, one at a time, through the worker that consumes from
// it (the real pipeline: input validation, context providers, timeout, retry decisions,
// ctx.defer), on a clock the test moves. Schedules run on that clock too, through memory()'s
// scheduler: the same ticks, the same one late run for ticks missed.
import type {
  ConsumeOptions,
  Consumer,
  Driver,
  EnqueueResult,
  GiveUpSignal,
  JobRecord,
} from '../driver.js'
import type { AnyTask } from '../task.js'
import { AfterwardError, ErrorCode } from '../errors.js'
import { startAttempt } from '../drivers/memory-entry.js'
import { memoryLimiter } from '../drivers/memory-limiter.js'
import { MemoryScheduler } from '../drivers/memory-scheduler.js'
import {
  assertDeferred,
  assertNothingDeferred,
  matches,
  type DeferredExpectation,
  type RecordedJob,
  type RecordedJobFilter,
} from './assertions.js'
import { createTestClock, type TestClock } from './test-clock.js'
import { TestJobs, type TestEntry } from './test-jobs.js'

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
   * Attempts one `runDue()`, `runUntil()` or `runAll()` call makes at most before it rejects
   * with `AFTERWARD_WAIT_TIMEOUT` (a task that defers itself forever). @defaultValue 1_000
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
  /** The clock that delays, backoff, held-back jobs and schedules' ticks are due by. */
  readonly clock: TestClock
  /**
   * The recorded jobs, in the order they were stored (deduplicated defers are not stored). A
   * schedule's run is listed once the clock has reached its tick, with `schedule` set.
   */
  jobs(filter?: RecordedJobFilter): RecordedJob[]
  /**
   * Throws an `AssertionError` listing every deferred job unless a job of `task` matches
   * `expected` (input in its JSON form, request id, options); returns that job. Schedules'
   * runs are not defers: the assertions leave them out.
   */
  assertDeferred<T extends AnyTask>(task: T, expected?: DeferredExpectation<T>): RecordedJob
  /** Throws an `AssertionError` listing them if any deferred job matches `filter`. */
  assertNothingDeferred(filter?: RecordedJobFilter): void
  /**
   * Runs every job that is due on the test clock, one at a time, including follow-ups
   * (`ctx.defer`) and retries that are due at once, until none is due. Resolves with the jobs
   * that completed or failed for good during the call. A job is run by the started worker
   * that takes its queue; rejects with `AFTERWARD_CONFIG_INVALID` when there is none.
   */
  runDue(): Promise<RecordedJob[]>
  /**
   * Lets test time pass until `to`, with a worker running all along: runs each job as it comes
   * due, moving the clock to it, then sets the clock to `to`. A schedule runs once per tick on
   * the way. Rejects with `AFTERWARD_CONFIG_INVALID` when `to` is before the clock.
   */
  runUntil(to: Date | number): Promise<RecordedJob[]>
  /** `runUntil(clock.now() + ms)`. */
  runFor(ms: number): Promise<RecordedJob[]>
  /**
   * Like `runDue()`, but when nothing is due it moves the clock to the next delayed job (a
   * `delay`, a retry's backoff) and goes on, until every job completed or failed. It does not
   * wait for a schedule's next tick (that would never end); a tick passed on the way runs once.
   */
  runAll(): Promise<RecordedJob[]>
  /** Forgets every recorded job (e.g. in `beforeEach`), except each schedule's next run. */
  clear(): void
}

/**
 * A driver for your tests: `defer` and `enqueue` record jobs instead of storing them, assertions
 * say which tasks were deferred (by which request, with what input and options), and `runDue()`
 * / `runAll()` run the jobs through your real worker and context providers, retries included,
 * on a clock that only your test moves. Schedules tick on that clock: `runUntil()` / `runFor()`.
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
  const jobs = new TestJobs(clock)
  const consumers: { options: ConsumeOptions; running: Set<Promise<unknown>> }[] = []
  let closed = false
  let running = false

  const scheduler = new MemoryScheduler(
    {
      add(record) {
        if (!closed && !jobs.has(record.id)) jobs.store(record)
      },
      cancel: (id) => jobs.cancel(id),
      get: (id) => jobs.entry(id),
      all: () => jobs.all(),
    },
    clock.now,
  )

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
    entry.planned = false
    // As on memory(): a schedule plans its next run when this one starts.
    if (entry.record.schedule && entry.attemptsMade === 1) scheduler.started(entry.record)
    const run = consumer.options.handle(delivered)
    consumer.running.add(run)
    try {
      jobs.carryOut(entry, await run)
    } finally {
      consumer.running.delete(run)
    }
  }

  /**
   * Runs jobs one at a time until none is due by `until`, moving the clock forward to a job
   * that is not due yet. `skipAhead` leaves out the runs of schedules whose tick has not come.
   */
  async function run(until: number, skipAhead: boolean): Promise<RecordedJob[]> {
    if (running) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        'testDriver: runDue(), runUntil() or runAll() is already running; await it before calling again.',
      )
    }
    running = true
    const finished: TestEntry[] = []
    try {
      for (let attempts = 0; ;) {
        const entry = jobs.next(clock.now(), false) ?? jobs.next(until, skipAhead)
        if (!entry) break
        if (entry.dueAt > clock.now()) {
          // Time passes up to that job; a schedule's tick passed on the way is due now and
          // runs first, once, as after a time no worker ran.
          clock.set(entry.dueAt)
          continue
        }
        if (attempts++ === maxAttempts) {
          throw new AfterwardError(
            ErrorCode.WAIT_TIMEOUT,
            `testDriver: ${maxAttempts} attempts made and jobs still remain (next: '${entry.record.task}'). A task may be deferring itself forever, or a schedule ticks more often than that in the time run; raise testDriver({ maxAttempts }) if so.`,
          )
        }
        await attempt(entry)
        if (entry.state === 'completed' || entry.state === 'failed') finished.push(entry)
      }
      if (Number.isFinite(until) && until > clock.now()) clock.set(until)
    } finally {
      running = false
    }
    return finished.map((entry) => jobs.recordedOf(entry))
  }

  function runUntil(to: Date | number): Promise<RecordedJob[]> {
    const target = to instanceof Date ? to.getTime() : to
    if (typeof target !== 'number' || !Number.isFinite(target) || target < clock.now()) {
      return Promise.reject(
        new AfterwardError(
          ErrorCode.CONFIG_INVALID,
          `testDriver: runUntil(to) takes a valid Date or ms since the epoch, not before the test clock (now ${new Date(clock.now()).toISOString()}, got ${String(to)}).`,
        ),
      )
    }
    return run(target, false)
  }

  const deferred = (): RecordedJob[] => jobs.recorded().filter((job) => !job.schedule)

  const driver: TestDriver = {
    name: 'test',
    durable: false,
    clock,
    scheduler,
    // Jobs run one at a time, on the test clock: limits hold as they would in one process.
    limiter: memoryLimiter(clock.now),

    async enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]> {
      if (closed) throw new AfterwardError(ErrorCode.CLOSED, 'The test driver is closed.')
      await Promise.resolve() // stored asynchronously, like a broker
      if (signal?.aborted) throw new AfterwardError(ErrorCode.ENQUEUE_FAILED, 'Enqueue abandoned.')
      return records.map((record) => jobs.store(record))
    },

    jobs: (filter = {}) => jobs.recorded().filter((job) => matches(job, filter)),
    assertDeferred: (task, expected) => assertDeferred(deferred(), task, expected),
    assertNothingDeferred: (filter) => assertNothingDeferred(deferred(), filter),

    runDue: () => run(clock.now(), true),
    runUntil,
    runFor(ms) {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        return Promise.reject(
          new AfterwardError(
            ErrorCode.CONFIG_INVALID,
            `testDriver: runFor(ms) takes a finite number of ms >= 0 (got ${String(ms)}).`,
          ),
        )
      }
      return runUntil(clock.now() + ms)
    },
    runAll: () => run(Infinity, true),
    clear: () => jobs.clear(),

    get: (id) => jobs.get(id),
    detail: (id) => jobs.detail(id),
    byRequest: (requestId) => jobs.byRequest(requestId),
    waitFor: (id, timeoutMs) => jobs.waitFor(id, timeoutMs),
    list: (query) => jobs.list(query),
    counts: (query) => jobs.counts(query),
    retry: (id) => jobs.retry(id),
    remove: (id) => jobs.remove(id),

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
      scheduler.close()
      return Promise.resolve()
    },
  }
  return driver
}
