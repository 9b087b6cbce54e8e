import { setMaxListeners } from 'node:events'
import type { Logger } from 'pino'
import type { ContextProvider, ContextProviders, TaskOutcome } from './context.js'
import type { ScopeHost } from './defer-scope.js'
import type { Consumer, DeliveredJob, Driver } from './driver.js'
import type { AnyTask } from './task.js'
import { DeferScope } from './defer-scope.js'
import { RequeueJob } from './driver.js'
import { AfterwardError, ErrorCode, toError } from './errors.js'
import { jobBindings, lazyChild } from './logger.js'
import { runAttempt } from './run-attempt.js'

/** Options of `afterward.worker()`. */
export interface WorkerOptions {
  /** Jobs run at once by this worker, per queue. @defaultValue 10 */
  concurrency?: number
  /** Queues to take jobs from. @defaultValue the queues of the registered tasks */
  queues?: readonly string[]
  /** On `close()`, how long to wait for running jobs before aborting them and handing them back. @defaultValue 30_000 */
  gracePeriod?: number
}

export interface WorkerHost {
  registry: ReadonlyMap<string, AnyTask>
  driver: Driver
  log: Logger
  host: ScopeHost
  providers: ContextProviders
  defaultQueue: string
  onClosed(worker: Worker): void
}

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
  readonly #host: WorkerHost
  // One signal for every running job: aborted when the grace period is over.
  readonly #shutdown = new AbortController()
  #active = 0
  #consumer: Consumer | undefined
  #state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new'
  #closed: Promise<void> | undefined
  #starting: Promise<void> | undefined
  #setupDone: ContextProvider<unknown>[] = []

  constructor(host: WorkerHost, options: WorkerOptions = {}) {
    const concurrency = options.concurrency ?? 10
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `worker: concurrency must be an integer >= 1 (got ${String(concurrency)}).`,
        {
          retryable: false,
        },
      )
    }
    this.#host = host
    // Every running job listens to it: as many listeners as the concurrency, and no leak.
    setMaxListeners(Infinity, this.#shutdown.signal)
    this.concurrency = concurrency
    this.#gracePeriod = options.gracePeriod ?? 30_000
    const taskQueues = [...host.registry.values()].map((t) => t.queue ?? host.defaultQueue)
    this.queues = options.queues ?? [
      ...new Set(taskQueues.length > 0 ? taskQueues : [host.defaultQueue]),
    ]
  }

  /** Jobs being run right now. */
  get activeCount(): number {
    return this.#active
  }

  /** Sets up the context providers, then starts taking jobs. */
  start(): Promise<void> {
    if (this.#state !== 'new') {
      return Promise.reject(
        new AfterwardError(ErrorCode.CLOSED, 'worker.start() may be called once.', {
          retryable: false,
        }),
      )
    }
    this.#state = 'starting'
    this.#starting = this.#start()
    return this.#starting
  }

  async #start(): Promise<void> {
    const { log, providers, driver } = this.#host
    try {
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
      this.#consumer = driver.consume({
        queues: this.queues,
        concurrency: this.concurrency,
        log,
        handle: (job) => this.#handle(job),
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
        this.#host.log.warn(
          { active: this.#active },
          'grace period over: aborting running jobs and handing them back',
        )
        this.#shutdown.abort(new RequeueJob())
        await drained
      }
    }
    await this.#teardown()
    this.#state = 'closed'
    this.#host.onClosed(this)
    this.#host.log.info('worker closed')
  }

  async #teardown(): Promise<void> {
    for (const provider of this.#setupDone.reverse()) {
      try {
        await provider.teardown?.()
      } catch (err) {
        this.#host.log.error({ err }, 'context teardown failed')
      }
    }
    this.#setupDone = []
  }

  async #handle(job: DeliveredJob): Promise<void> {
    const { registry, log: rootLog, providers, host } = this.#host
    const log = lazyChild(rootLog, jobBindings(job))
    const task = registry.get(job.task)
    if (!task) {
      const error = new AfterwardError(
        ErrorCode.UNKNOWN_TASK,
        `Unknown task '${job.task}': this worker has no task of that name. Register it in createAfterward({ tasks }) on the worker.`,
        { retryable: false },
      )
      log.error({ err: error }, 'job failed for good')
      throw error
    }
    const shutdown = this.#shutdown.signal
    this.#active++
    const scope = new DeferScope(host, { requestId: job.requestId, trace: job.trace })
    const started = performance.now()
    log.debug('job started')
    let outcome: TaskOutcome
    try {
      outcome = await runAttempt({ job, task, providers, scope, log, shutdown })
    } finally {
      this.#active--
    }
    const ms = Math.round(performance.now() - started)
    if (outcome.status === 'success') {
      log.info({ ms }, 'job completed')
      return
    }
    if (outcome.status === 'shutdown') throw new RequeueJob()
    const error =
      outcome.error ?? new AfterwardError(ErrorCode.TASK_FAILED, `Task '${job.task}' failed.`)
    const retryable = !(error instanceof AfterwardError && !error.retryable)
    if (retryable && job.attempt < job.options.attempts) {
      log.warn({ err: error, ms, attempts: job.options.attempts }, 'job attempt failed; will retry')
    } else {
      log.error({ err: error, ms, attempts: job.options.attempts }, 'job failed for good')
    }
    throw error
  }
}
