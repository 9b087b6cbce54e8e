import type { Logger } from 'pino'
import type { ContextProviders } from './context.js'
import type { Driver, EnqueueResult, JobInfo, JobRecord } from './driver.js'
import type { JobOptions } from './options.js'
import type { AnyTask, DeferArgs } from './task.js'
import { DeferScope, type DeferScopeOptions, type ScopeHost } from './defer-scope.js'
import { AfterwardEnqueueError, AfterwardError, AfterwardInputError, ErrorCode } from './errors.js'
import { defaultLogger, jobBindings } from './logger.js'
import { resolveOptions, type ResolvedJobOptions } from './options.js'
import { DEFAULT_MAX_INPUT_BYTES, prepareInput } from './validate.js'
import { Worker, type WorkerOptions } from './worker.js'

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
  /** A defer scope: buffer jobs, then `flush` (store all in one round trip) or `discard`. */
  scope(options?: DeferScopeOptions): DeferScope
  /** A worker for this instance's tasks; call `start()` on it. */
  worker(options?: WorkerOptions): Worker
  readonly jobs: {
    get(id: string): Promise<JobInfo | undefined>
    byRequest(requestId: string): Promise<JobInfo[]>
    /** Resolves once the job completed or failed for good. */
    wait(id: string, options?: WaitOptions): Promise<JobInfo>
    /** One page of jobs, newest first: `list({ state: 'failed', limit: 20 })`. */
    list: Driver['list']
    /** Per queue, how many jobs are in each state: `counts({ queue: 'emails' })`. */
    counts: Driver['counts']
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
  const log = options.logger ?? defaultLogger()
  const enqueueTimeout = options.enqueueTimeout ?? 2_000
  const maxInputBytes = options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES
  const registry = new Map<string, AnyTask>()
  for (const task of tasks) {
    const existing = registry.get(task.name)
    if (existing && existing !== task) {
      throw configError(`two different tasks are named '${task.name}'; task names must be unique`)
    }
    registry.set(task.name, task)
  }
  const inflight = { count: 0, idle: undefined as (() => void) | undefined }
  const workers = new Set<Worker>()
  let closing: Promise<void> | undefined

  const prepare: ScopeHost['prepare'] = (task, input, levels, meta) => {
    if (registry.get(task.name) !== task) {
      throw new AfterwardInputError(
        String(task.name),
        'task',
        `Unknown task '${String(task.name)}': add it to createAfterward({ tasks: [...] }) so that workers can run it.`,
        { code: ErrorCode.UNKNOWN_TASK },
      )
    }
    const value = prepareInput(task, input, maxInputBytes)
    const [call, route] = levels
    const resolved =
      call === undefined && levels.length <= 2
        ? resolveCached(task, route)
        : resolveOptions([...levels, task, options.defaults])
    // A literal rather than `{ ...meta, ... }`: V8 builds spread-then-extend objects slowly.
    return {
      id: meta.id,
      requestId: meta.requestId,
      trace: meta.trace,
      task: task.name,
      input: value,
      createdAt: Date.now(),
      options: resolved,
    }
  }

  // Most defers pass no call-site options: their options depend only on the task and the route's
  // options object, so they are resolved once per pair (frozen, since every job shares them).
  const resolvedFor = new WeakMap<
    AnyTask,
    { none?: ResolvedJobOptions; byRoute: WeakMap<JobOptions, ResolvedJobOptions> }
  >()
  function resolveCached(task: AnyTask, route: JobOptions | undefined): ResolvedJobOptions {
    let perTask = resolvedFor.get(task)
    if (!perTask) resolvedFor.set(task, (perTask = { byRoute: new WeakMap() }))
    const cached = route === undefined ? perTask.none : perTask.byRoute.get(route)
    if (cached) return cached
    const levels = [route, task, options.defaults]
    const resolved = resolveOptions(levels)
    // A Date delay is relative to now: never reuse it.
    if (
      levels.some((level) => level !== undefined && 'delay' in level && level.delay instanceof Date)
    ) {
      return resolved
    }
    Object.freeze(resolved.backoff)
    Object.freeze(resolved)
    if (route === undefined) perTask.none = resolved
    else perTask.byRoute.set(route, resolved)
    return resolved
  }

  // Requests and direct enqueues are refused once close() began.
  const host: ScopeHost = {
    prepare(task, input, levels, meta) {
      if (closing) {
        throw new AfterwardError(
          ErrorCode.CLOSED,
          `Cannot defer '${task.name}': Afterward is shutting down.`,
          { retryable: false },
        )
      }
      return prepare(task, input, levels, meta)
    },
    store: storeWithTimeout,
  }

  /**
   * Stores the records, bounded by `enqueueTimeout`. One promise, one timer and a flag per
   * call: this runs once per request, so it allocates as little as it can.
   */
  function storeWithTimeout(records: readonly JobRecord[]): Promise<EnqueueResult[]> {
    inflight.count++
    const gaveUp = { aborted: false }
    return new Promise<EnqueueResult[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        gaveUp.aborted = true
        reject(
          new AfterwardEnqueueError(
            `The ${driver.name} broker did not confirm ${records.length} job(s) (${taskNames(records)}) within ${enqueueTimeout} ms. Check that it is reachable, or raise enqueueTimeout.`,
          ),
        )
      }, enqueueTimeout)
      driver.enqueue(records, gaveUp).then(
        (results) => {
          clearTimeout(timer)
          if (log.isLevelEnabled('debug')) logStored(records, results)
          resolve(results)
        },
        (err: unknown) => {
          clearTimeout(timer)
          reject(
            err instanceof AfterwardEnqueueError
              ? err
              : new AfterwardEnqueueError(
                  `The ${driver.name} broker refused ${records.length} job(s) (${taskNames(records)}): ${err instanceof Error ? err.message : String(err)}. Check that it is reachable; none of them was stored.`,
                  { cause: err },
                ),
          )
        },
      )
    }).then(
      (results) => {
        settled()
        return results
      },
      (error: AfterwardEnqueueError) => {
        settled()
        log.error(
          { err: error, requestId: records[0]?.requestId, tasks: taskNames(records) },
          'enqueue failed',
        )
        throw error
      },
    )
  }

  function settled(): void {
    if (--inflight.count === 0) inflight.idle?.()
  }

  // Per-job lines are debug: at info they would cost more than storing the job.
  function logStored(records: readonly JobRecord[], results: EnqueueResult[]): void {
    records.forEach((record, i) => {
      const deduplicated = results[i]?.deduplicated === true
      log.debug(
        {
          ...jobBindings(record),
          queue: record.options.queue,
          deduplicatedInto: deduplicated ? results[i]!.id : undefined,
        },
        deduplicated ? 'job deduplicated' : 'job enqueued',
      )
    })
  }

  const afterward: Afterward = {
    async enqueue(task, ...args) {
      const scope = new DeferScope(host)
      scope.defer(task, ...args)
      const [result] = await scope.flush()
      return result!
    },
    scope: (scopeOptions) => new DeferScope(host, scopeOptions),
    worker(workerOptions) {
      const worker = new Worker(
        {
          registry,
          driver,
          log,
          // Jobs that close() waits for may still defer follow-ups: their scopes skip the check.
          host: { prepare, store: host.store },
          providers: options.context ?? {},
          defaultQueue: options.defaults?.queue ?? 'default',
          onClosed: (w) => workers.delete(w),
        },
        workerOptions,
      )
      workers.add(worker)
      return worker
    },
    jobs: {
      get: (id) => driver.get(id),
      byRequest: (requestId) => driver.byRequest(requestId),
      wait: (id, waitOptions) => driver.waitFor(id, waitOptions?.timeout ?? 30_000),
      list: (query) => driver.list(query),
      counts: (query) => driver.counts(query),
    },
    tasks: registry,
    driver,
    log,
    close() {
      closing ??= (async () => {
        if (inflight.count > 0) await new Promise<void>((resolve) => (inflight.idle = resolve))
        await Promise.all([...workers].map((w) => w.close()))
        await driver.close()
      })()
      return closing
    },
  }
  return afterward
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
    if (['job', 'signal', 'log', 'defer'].includes(name)) {
      throw configError(`context.${name} would hide ctx.${name}; choose another name`)
    }
  }
  if (options.enqueueTimeout !== undefined && !(options.enqueueTimeout > 0)) {
    throw configError('enqueueTimeout must be a positive number of ms')
  }
  if (options.maxInputBytes !== undefined && !(options.maxInputBytes > 0)) {
    throw configError('maxInputBytes must be a positive number of bytes')
  }
  return { tasks: options.tasks, driver: options.driver }
}

function taskNames(records: readonly JobRecord[]): string {
  return [...new Set(records.map((r) => r.task))].join(', ')
}

function configError(message: string): AfterwardError {
  return new AfterwardError(ErrorCode.CONFIG_INVALID, `createAfterward: ${message}.`, {
    retryable: false,
  })
}
