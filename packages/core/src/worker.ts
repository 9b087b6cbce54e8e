import type { Logger } from 'pino'
import type { ContextProvider, TaskOutcome } from './context.js'
import type { AttemptEnd, Consumer, DeliveredJob, StallOptions } from './driver.js'
import type { Runtime } from './runtime.js'
import type { ComposedInstrumentation } from './instrumentation.js'
import type { AnyTask } from './task.js'
import { AttemptAbort } from './attempt-abort.js'
import { reportAttemptEnd } from './attempt-ended.js'
import { RequeueJob } from './driver.js'
import { AfterwardError, ErrorCode, toError } from './errors.js'
import { lazyJobLogger } from './logger.js'
import { COMPLETED, REQUEUE, afterFailure } from './retry.js'
import { enterLimits, hasLimits, type GateResult } from './limit-gate.js'
import { runAttempt, type ProviderList } from './run-attempt.js'
import { jobEvent } from './runtime.js'
import { syncSchedules } from './schedule-sync.js'
import { reportStallLimit, reportStalled } from './stalled.js'
import { resolveWorkerOptions, type WorkerOptions } from './worker-options.js'

/** How a job passed its task's limits: the slot to leave after, or why it may not run. */
interface Pass {
  gate: GateResult | undefined
  refused: AfterwardError | undefined
}

type AttemptWrap = NonNullable<ComposedInstrumentation['attempt']>

/** The pass of a job whose task has no limits. */
const OPEN: Pass = Object.freeze({ gate: undefined, refused: undefined })

/**
 * Runs jobs: for each, looks up the task, validates the input again, acquires contexts, runs
 * with the timeout and `ctx.signal`, releases contexts in every case, and then completes,
 * retries with backoff, or fails for good.
 *
 * @example
 * const worker = afterward.worker({ concurrency: 20 })
 * await worker.start()
 * process.on('SIGTERM', () => void worker.close())
 */
export class Worker {
  readonly concurrency: number
  readonly queues: readonly string[]
  readonly #gracePeriod: number
  readonly #stall: StallOptions
  readonly #runtime: Runtime
  readonly #providers: ProviderList
  /** The attempts running now, aborted together if the grace period runs out at shutdown. */
  readonly #active = new Set<AttemptAbort>()
  #consumer: Consumer | undefined
  #state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new'
  #closed: Promise<void> | undefined
  #starting: Promise<void> | undefined
  #setupDone: ContextProvider<unknown>[] = []

  /** @internal Made by `afterward.worker()`. */
  constructor(runtime: Runtime, options: WorkerOptions = {}) {
    const { concurrency, gracePeriod, stall, queues } = resolveWorkerOptions(runtime, options)
    this.#runtime = runtime
    this.#providers = Object.entries(runtime.providers)
    this.concurrency = concurrency
    this.#gracePeriod = gracePeriod
    this.#stall = stall
    this.queues = queues
  }

  /** Jobs being run right now. */
  get activeCount(): number {
    return this.#active.size
  }

  /** Sets up the context providers, then starts taking jobs. */
  start(): Promise<void> {
    if (this.#state !== 'new') {
      return Promise.reject(
        new AfterwardError(
          ErrorCode.CONFIG_INVALID,
          'worker.start() may be called once: make a new worker with afterward.worker().',
        ),
      )
    }
    this.#state = 'starting'
    this.#starting = this.#start()
    return this.#starting
  }

  async #start(): Promise<void> {
    const { log, providers, driver } = this.#runtime
    try {
      // The code is the source of truth for schedules: each worker start reconciles them.
      if (driver.scheduler) {
        await syncSchedules(driver.scheduler, this.#runtime.schedules, false, log)
      } else if (this.#runtime.schedules.length > 0) {
        log.warn(
          { driver: driver.name, schedules: this.#runtime.schedules.map((s) => s.key) },
          'this driver cannot run schedules: scheduled tasks run only when deferred',
        )
      }
      for (const [name, provider] of Object.entries(providers)) {
        try {
          // Providers size pools for every job that may run at once, across all queues.
          await provider.setup?.({
            concurrency: this.concurrency * this.queues.length,
            log: log.child({ context: name }),
          })
          this.#setupDone.push(provider)
        } catch (err) {
          throw new AfterwardError(
            ErrorCode.CONTEXT_FAILED,
            `Context '${name}' failed to set up: ${toError(err).message}`,
            { cause: err },
          )
        }
      }
      const limited = [...this.#runtime.registry.values()].find(hasLimits)
      if (limited !== undefined && driver.limiter === undefined) {
        throw new AfterwardError(
          ErrorCode.CONFIG_INVALID,
          `worker: task '${limited.name}' has a limit or rate, and the ${driver.name} driver cannot enforce limits. Use memory() or bullmq().`,
        )
      }
      const wrap = this.#runtime.instrumentation?.attempt
      this.#consumer = driver.consume({
        queues: this.queues,
        concurrency: this.concurrency,
        stall: this.#stall,
        log,
        handle: (job) => this.#take(job, wrap),
        stalled: (job, willRun) =>
          reportStalled(this.#runtime, job, willRun, this.#stall.maxStalledCount),
        stallLimitReached: (job) =>
          reportStallLimit(this.#runtime, job, this.#stall.maxStalledCount),
      })
      await this.#consumer.start()
    } catch (err) {
      // Leave nothing behind: no consumer taking jobs, no provider holding connections.
      await this.#consumer?.close(true)
      this.#consumer = undefined
      await this.#teardown()
      this.#state = 'closed'
      throw err
    }
    this.#state = 'running'
    log.info(
      { queues: this.queues, concurrency: this.concurrency, driver: driver.name },
      'worker started',
    )
  }

  /**
   * Stops taking jobs, waits for running ones up to the grace period, then aborts the rest
   * (their jobs go back to the queue), releases contexts and tears providers down.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    // A close() during start() waits for it, so that what start() set up is closed too.
    await this.#starting?.catch(() => undefined)
    const previous = this.#state
    this.#state = 'closing'
    if (this.#consumer && previous !== 'closed') {
      const drained = this.#consumer.close()
      let timer: NodeJS.Timeout | undefined
      const graceOver = new Promise<'grace'>((resolve) => {
        timer = setTimeout(() => resolve('grace'), this.#gracePeriod)
      })
      const first = await Promise.race([drained.then(() => 'drained' as const), graceOver])
      clearTimeout(timer)
      if (first === 'grace') {
        this.#runtime.log.warn(
          { active: this.#active.size },
          'grace period over: aborting running jobs and handing them back',
        )
        for (const attempt of this.#active) attempt.abort(new RequeueJob())
        await drained
      }
    }
    await this.#teardown()
    this.#state = 'closed'
    this.#runtime.workers.delete(this)
    this.#runtime.log.info('worker closed')
  }

  async #teardown(): Promise<void> {
    for (const provider of this.#setupDone.reverse()) {
      try {
        await provider.teardown?.()
      } catch (err) {
        this.#runtime.log.error({ err }, 'context teardown failed')
      }
    }
    this.#setupDone = []
  }

  /**
   * Takes one delivered job: passes the task's limits first (a job held back never started, so
   * it gets no `started` event and no instrumentation span), then runs the attempt. Not async:
   * most jobs have no schedule and no limit, and go straight to the attempt.
   */
  #take(job: DeliveredJob, wrap: AttemptWrap | undefined): Promise<AttemptEnd> {
    const task = this.#runtime.registry.get(job.task)
    // Per-job lines are debug: the child logger is made only if a line is written or the task
    // reads ctx.log.
    const log = lazyJobLogger(this.#runtime.log, job)
    // Only a tick's first delivery is checked: a retry or a redelivery of a run always runs.
    const first = job.schedule !== undefined && job.attempt === 1 && !job.redelivered
    if (task !== undefined && (first || hasLimits(task))) {
      return this.#gated(job, task, first, wrap, log)
    }
    return this.#attempt(job, task, OPEN, wrap, log)
  }

  /** A scheduled run's first delivery (overlap check) or a task with limits: then the attempt. */
  async #gated(
    job: DeliveredJob,
    task: AnyTask,
    first: boolean,
    wrap: AttemptWrap | undefined,
    log: () => Logger,
  ): Promise<AttemptEnd> {
    // A skipped run reports nothing: it did not start. It completes, so its schedule goes on.
    if (first && !(await this.#claimRun(job, task))) {
      log().info(
        { schedule: job.schedule?.id },
        'scheduled run skipped: the previous run is still going',
      )
      return COMPLETED
    }
    let pass = OPEN
    if (hasLimits(task)) {
      const { limiter } = this.#runtime.driver
      try {
        const gate = await enterLimits(task, job, limiter, this.#stall.lockDuration, log)
        if (gate.type === 'held') return this.#held(job, gate.delay, 'held back by a limit', log)
        pass = { gate, refused: undefined }
      } catch (err) {
        if (!(err instanceof AfterwardError) || err.retryable) {
          // The limiter was unreachable: ask again later rather than spend an attempt.
          log().warn({ err }, 'could not check the task limits; will ask again')
          return this.#held(job, 1_000, 'limits unknown', log)
        }
        pass = { gate: undefined, refused: err } // a key function that failed: the job fails
      }
    }
    return this.#attempt(job, task, pass, wrap, log)
  }

  #attempt(
    job: DeliveredJob,
    task: AnyTask | undefined,
    pass: Pass,
    wrap: AttemptWrap | undefined,
    log: () => Logger,
  ): Promise<AttemptEnd> {
    if (wrap === undefined) return this.#handle(job, task, pass, log)
    return wrap(job, () => this.#handle(job, task, pass, log))
  }

  async #handle(
    job: DeliveredJob,
    task: AnyTask | undefined,
    { gate, refused }: Pass,
    log: () => Logger,
  ): Promise<AttemptEnd> {
    const { events, log: rootLog } = this.#runtime
    const started = performance.now()
    const ended = (end: AttemptEnd): AttemptEnd =>
      reportAttemptEnd(this.#runtime, job, end, started, log)
    if (events.has('started')) {
      // A scheduled run waits from its tick: its job was planned long before it was due.
      const since = job.schedule?.tick ?? job.createdAt
      events.emit(
        'started',
        jobEvent(job, job.attempt, { waitMs: Date.now() - since, redelivered: job.redelivered }),
      )
    }
    if (refused !== undefined) return ended(afterFailure(refused, job))
    if (!task) {
      const error = new AfterwardError(
        ErrorCode.UNKNOWN_TASK,
        `Unknown task '${job.task}': this worker has no task of that name. Register it in createAfterward({ tasks }) on the worker.`,
      )
      return ended(afterFailure(error, job))
    }
    const abort = new AttemptAbort()
    this.#active.add(abort)
    if (rootLog.isLevelEnabled('debug')) log().debug('job started')
    let outcome: TaskOutcome
    try {
      outcome = await runAttempt({
        job,
        task,
        providers: this.#providers,
        runtime: this.#runtime,
        log,
        abort,
        startedAt: gate?.type === 'entered' ? gate.startedAt : undefined,
      })
    } finally {
      this.#active.delete(abort)
      if (gate?.type === 'entered') await gate.leave()
    }
    if (outcome.status === 'success') return ended(COMPLETED)
    if (outcome.status === 'shutdown') return ended(REQUEUE)
    const error =
      outcome.error ?? new AfterwardError(ErrorCode.TASK_FAILED, `Task '${job.task}' failed.`)
    return ended(afterFailure(error, job))
  }

  /**
   * Whether a scheduled run goes ahead: not when its schedule skips overlapping runs and the
   * previous one is still going. If the broker cannot tell, the run goes ahead (a run too many
   * rather than a tick lost).
   */
  async #claimRun(job: DeliveredJob, task: AnyTask): Promise<boolean> {
    const scheduler = this.#runtime.driver.scheduler
    if (!scheduler) return true
    const overlap = task.schedules.find((s) => s.id === job.schedule?.id)?.overlap ?? 'skip'
    try {
      return await scheduler.claimRun(job, overlap)
    } catch (err) {
      this.#runtime.log.warn(
        { err, jobId: job.id },
        'could not check for an overlapping run; running',
      )
      return true
    }
  }

  /** A job that may not start yet: back to its queue for `delay` ms, its attempt unspent. */
  #held(job: DeliveredJob, delay: number, why: string, log: () => Logger): AttemptEnd {
    if (this.#runtime.log.isLevelEnabled('debug')) log().debug({ delayMs: delay }, `job ${why}`)
    return { type: 'wait', delay, reason: 'limit' }
  }
}
