import type { Logger } from 'pino'
import type { ContextProviders } from './context.js'
import type { Driver, EnqueueResult, JobDetail, JobInfo, ScheduleInfo } from './driver.js'
import type { AfterwardEventName, AfterwardListener } from './events.js'
import type { JobOptions } from './options.js'
import type { AnyTask, DeferArgs, DeferredJob } from './task.js'
import type { WorkerOptions } from './worker-options.js'
import { DeferScope, type DeferScopeOptions } from './defer-scope.js'
import { AfterwardError, ErrorCode } from './errors.js'
import { composeInstrumentation, type Instrumentation } from './instrumentation.js'
import { defaultLogger } from './logger.js'
import { compileRedact, type Redact } from './redact.js'
import { Runtime } from './runtime.js'
import {
  syncSchedules,
  type ScheduleSyncOptions,
  type ScheduleSyncResult,
} from './schedule-sync.js'
import { DEFAULT_MAX_INPUT_BYTES } from './validate.js'
import { Worker } from './worker.js'

/** Options of `createAfterward`. */
export interface AfterwardOptions {
  /** Every task that may be deferred or run. Deferring any other task is refused. */
  tasks: readonly AnyTask[]
  /** `bullmq({ connection })` in production, `memory()` in development and tests. */
  driver: Driver
  /** Context providers; each key becomes `ctx.<key>` in every task. @defaultValue `{}` */
  context?: ContextProviders
  /** Job options below every task's own. @defaultValue built-in defaults (see `JobOptions`) */
  defaults?: JobOptions
  /** Longest wait for the broker to store a request's jobs, in ms. @defaultValue 2_000 */
  enqueueTimeout?: number
  /** Largest JSON form of one job's input, in bytes. @defaultValue 65_536 */
  maxInputBytes?: number
  /** pino logger. @defaultValue pino at `AFTERWARD_LOG_LEVEL` or `info` */
  logger?: Logger
  /**
   * Hooks around each defer, enqueue and attempt, for tracing (`@afterward/otel`'s
   * `otelInstrumentation()`); the first listed wraps the others. @defaultValue `[]`
   */
  instrumentation?: readonly Instrumentation[]
  /**
   * Input fields hidden from every read through `afterward.jobs` (`get`, `detail`, `byRequest`,
   * `list`, `wait`, `retry`), and so from the CLI and the dashboard: paths such as
   * `['password', 'card.number', 'users[*].token']`, or a function `(input, task) => shown`.
   * Workers always get the whole input. @defaultValue nothing hidden
   */
  redact?: Redact
}

/** Options of `afterward.jobs.wait`. */
export interface WaitOptions {
  /** @defaultValue 30_000 */
  timeout?: number
}

/** What `createAfterward` returns. */
export interface Afterward {
  /** Stores one job now, outside any request; resolves once it is stored. */
  enqueue<T extends AnyTask>(task: T, ...args: DeferArgs<T>): Promise<EnqueueResult>
  /**
   * Checks a job like `defer` and writes it inside the database transaction `tx` (a Prisma
   * transaction client, say): the job exists if and only if `tx` commits. Needs a driver with an
   * outbox (`prismaOutbox(prisma).driver(inner)` from `@afterward/prisma`).
   *
   * @example
   * await prisma.$transaction(async (tx) => {
   *   const order = await tx.order.create({ data })
   *   await afterward.deferIn(tx, sendReceipt, { orderId: order.id })
   * })
   */
  deferIn<T extends AnyTask>(tx: unknown, task: T, ...args: DeferArgs<T>): Promise<DeferredJob>
  /** A defer scope: buffer jobs, then `flush` (enqueue all in one round trip) or `discard`. */
  scope(options?: DeferScopeOptions): DeferScope
  /**
   * Subscribes to a lifecycle event (`deferred`, `discarded`, `enqueued`, `enqueue-failed`,
   * `started`, `retrying`, `completed`, `failed`, `handed-back`); returns the function that
   * unsubscribes. Listeners run synchronously where the event happens; one that throws is
   * logged and never breaks a job. An event nobody listens to costs nothing.
   *
   * @example
   * afterward.on('failed', (e) => metrics.failed.inc({ task: e.task }))
   */
  on<E extends AfterwardEventName>(event: E, listener: AfterwardListener<E>): () => void
  /** A worker for this instance's tasks; call `start()` on it. */
  worker(options?: WorkerOptions): Worker
  readonly jobs: {
    get(id: string): Promise<JobInfo | undefined>
    /** The job and each failed attempt's error and stack; undefined when no job has this id. */
    detail(id: string): Promise<JobDetail | undefined>
    byRequest(requestId: string): Promise<JobInfo[]>
    /** Resolves once the job completed or failed for good. */
    wait(id: string, options?: WaitOptions): Promise<JobInfo>
    /** One page of jobs, newest first: `list({ state: 'failed', limit: 20 })`. */
    list: Driver['list']
    /** Per queue, how many jobs are in each state: `counts({ queue: 'emails' })`. */
    counts: Driver['counts']
    /**
     * Puts a failed job back to waiting with all its attempts again; resolves with the job.
     * `AFTERWARD_JOB_NOT_FOUND` for an unknown id, `AFTERWARD_JOB_STATE_INVALID` for a job
     * that is not failed.
     */
    retry(id: string): Promise<JobInfo>
    /** Deletes a job that is not running (`AFTERWARD_JOB_STATE_INVALID` for an active one). */
    remove(id: string): Promise<void>
  }
  /**
   * The tasks' schedules in the broker. `sync()` makes them match the code (a worker does it
   * as it starts); `list()` shows each with its next run and its last run's state.
   *
   * @example
   * await afterward.schedules.sync() // in a deploy script
   * for (const s of await afterward.schedules.list()) console.log(s.key, s.nextRunAt, s.lastRun?.state)
   */
  readonly schedules: {
    sync(options?: ScheduleSyncOptions): Promise<ScheduleSyncResult>
    list(): Promise<ScheduleInfo[]>
  }
  readonly tasks: ReadonlyMap<string, AnyTask>
  readonly driver: Driver
  readonly log: Logger
  /** Stops accepting defers, waits for in-flight enqueues, closes workers, then the driver. */
  close(): Promise<void>
}

/**
 * Creates an Afterward instance: the task registry, the driver and the context providers.
 *
 * @example
 * export const afterward = createAfterward({
 *   tasks: [sendWelcomeEmail],
 *   driver: process.env.REDIS_URL ? bullmq({ connection: process.env.REDIS_URL }) : memory(),
 *   context: { db: prismaContext(prisma) },
 * })
 */
export function createAfterward(options: AfterwardOptions): Afterward {
  const { tasks, driver } = checkOptions(options)
  const registry = new Map<string, AnyTask>()
  for (const task of tasks) {
    const existing = registry.get(task.name)
    if (existing && existing !== task) {
      throw configError(`two different tasks are named '${task.name}'; task names must be unique`)
    }
    registry.set(task.name, task)
  }
  const log = options.logger ?? defaultLogger()
  const runtime = new Runtime({
    registry,
    driver,
    log,
    providers: options.context ?? {},
    defaults: options.defaults,
    enqueueTimeout: options.enqueueTimeout ?? 2_000,
    maxInputBytes: options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES,
    instrumentation: composeInstrumentation(options.instrumentation, log),
  })
  let closing: Promise<void> | undefined
  const hide = compileRedact(options.redact)
  const show = hide
    ? <J extends JobInfo>(job: J): J => ({ ...job, input: hide(job.input, job.task) })
    : <J extends JobInfo>(job: J): J => job
  const shown = <J extends JobInfo>(job: J | undefined): J | undefined => job && show(job)

  return {
    async enqueue(task, ...args) {
      const scope = new DeferScope(runtime)
      scope.defer(task, ...args)
      const [result] = await scope.flush()
      return result!
    },
    deferIn: (tx, task, ...args) => new DeferScope(runtime).deferIn(tx, task, ...args),
    scope: (scopeOptions) => new DeferScope(runtime, scopeOptions),
    worker(workerOptions) {
      const worker = new Worker(runtime, workerOptions)
      runtime.workers.add(worker)
      return worker
    },
    on: (event, listener) => runtime.events.on(event, listener),
    jobs: {
      get: async (id) => shown(await driver.get(id)),
      detail: async (id) => shown(await driver.detail(id)),
      byRequest: async (requestId) => (await driver.byRequest(requestId)).map(show),
      wait: async (id, waitOptions) =>
        show(await driver.waitFor(id, waitOptions?.timeout ?? 30_000)),
      list: async (query) => {
        const page = await driver.list(query)
        return hide ? { ...page, jobs: page.jobs.map(show) } : page
      },
      counts: (query) => driver.counts(query),
      retry: async (id) => show(await driver.retry(id)),
      remove: (id) => driver.remove(id),
    },
    schedules: {
      async sync(syncOptions) {
        const force = syncOptions?.force === true
        return syncSchedules(scheduler(runtime), runtime.schedules, force, log)
      },
      async list() {
        const states = await scheduler(runtime).list()
        return states.map(({ hash: _hash, ...info }) => info)
      },
    },
    tasks: registry,
    driver,
    log: runtime.log,
    close() {
      runtime.closing = true
      closing ??= (async () => {
        await runtime.idle()
        await Promise.all([...runtime.workers].map((w) => w.close()))
        await driver.close()
      })()
      return closing
    },
  }
}

function scheduler(runtime: Runtime): NonNullable<Driver['scheduler']> {
  const found = runtime.driver.scheduler
  if (!found) {
    throw configError(
      `the ${runtime.driver.name} driver cannot run schedules (it has no scheduler); use memory() or bullmq() to run them`,
    )
  }
  return found
}

function checkOptions(options: AfterwardOptions): { tasks: readonly AnyTask[]; driver: Driver } {
  if (!options || typeof options !== 'object')
    throw configError('pass an options object: createAfterward({ tasks, driver })')
  if (!Array.isArray(options.tasks))
    throw configError('`tasks` is required: createAfterward({ tasks: [myTask], driver })')
  if (!options.driver || typeof options.driver.enqueue !== 'function') {
    throw configError(
      '`driver` is required: pass memory() for development or bullmq({ connection }) for production',
    )
  }
  for (const [name, provider] of Object.entries(options.context ?? {})) {
    if (typeof provider?.acquire !== 'function') {
      throw configError(`context.${name} must be a context provider with an acquire(job) function`)
    }
    if (['job', 'signal', 'log', 'defer', 'retryAfter'].includes(name)) {
      throw configError(`context.${name} would hide ctx.${name}; choose another name`)
    }
  }
  if (options.enqueueTimeout !== undefined && !(options.enqueueTimeout > 0)) {
    throw configError('enqueueTimeout must be a positive number of ms')
  }
  if (options.maxInputBytes !== undefined && !(options.maxInputBytes > 0)) {
    throw configError('maxInputBytes must be a positive number of bytes')
  }
  const instrumentation: unknown = options.instrumentation
  if (instrumentation !== undefined) {
    if (!Array.isArray(instrumentation)) {
      throw configError(
        'instrumentation must be an array: instrumentation: [otelInstrumentation()]',
      )
    }
    instrumentation.forEach((item: unknown, n) => {
      const hooks = item as Record<string, unknown> | null
      const bad = ['defer', 'enqueue', 'attempt'].find(
        (hook) => hooks?.[hook] !== undefined && typeof hooks[hook] !== 'function',
      )
      if (typeof item !== 'object' || item === null || bad !== undefined) {
        throw configError(
          `instrumentation[${n}] must be an object whose defer, enqueue and attempt are functions or left out${bad ? ` (${bad} is not)` : ''}`,
        )
      }
    })
  }
  return { tasks: options.tasks, driver: options.driver }
}

function configError(message: string): AfterwardError {
  return new AfterwardError(ErrorCode.CONFIG_INVALID, `createAfterward: ${message}.`)
}
