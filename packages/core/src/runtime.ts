// The one internal runtime of an Afterward instance: what createAfterward was given (registry,
// driver, providers, defaults, logger), the event bus, and the two operations that every path to
// the broker shares: turning a defer into a job record, and enqueueing records. Scopes and
// workers hold the runtime itself; nothing calls back through closures.
import type { Logger } from 'pino'
import type { ContextProviders } from './context.js'
import type { Driver, EnqueueResult, JobRecord, Producer, ScheduleRecord } from './driver.js'
import type { JobOptions, ResolvedJobOptions } from './options.js'
import type { AnyTask } from './task.js'
import type { ComposedInstrumentation } from './instrumentation.js'
import { EventBus, type JobEvent } from './events.js'
import { AfterwardEnqueueError, AfterwardError, AfterwardInputError, ErrorCode } from './errors.js'
import { jobBindings } from './logger.js'
import { resolveOptions } from './options.js'
import { prepareInput } from './validate.js'
import { scheduleRecords } from './schedule-sync.js'

export interface RuntimeConfig {
  registry: ReadonlyMap<string, AnyTask>
  driver: Driver
  log: Logger
  providers: ContextProviders
  defaults: JobOptions | undefined
  enqueueTimeout: number
  maxInputBytes: number
  instrumentation: ComposedInstrumentation | undefined
}

/** What a record is made from besides the task, the input and the option levels. */
export interface RecordMeta {
  id: string
  requestId: string | undefined
  trace: Record<string, string> | undefined
}

export class Runtime {
  readonly registry: ReadonlyMap<string, AnyTask>
  readonly driver: Driver
  readonly log: Logger
  readonly providers: ContextProviders
  readonly events: EventBus
  readonly defaultQueue: string
  /** The composed `instrumentation` hooks; `undefined` when none (then nothing is wrapped). */
  readonly instrumentation: ComposedInstrumentation | undefined
  readonly #defaults: JobOptions | undefined
  readonly #enqueueTimeout: number
  readonly #maxInputBytes: number
  /** The registered tasks' schedules, with the options of each run resolved. */
  readonly schedules: readonly ScheduleRecord[]
  /** The instance's workers that are not closed yet (`close()` closes them). */
  readonly workers = new Set<{ close(): Promise<void> }>()
  /** Set by `close()`: requests and direct enqueues are refused from then on. */
  closing = false
  #inflight = 0
  #idle: (() => void) | undefined

  constructor(config: RuntimeConfig) {
    this.registry = config.registry
    this.driver = config.driver
    this.log = config.log
    this.providers = config.providers
    this.#defaults = config.defaults
    this.#enqueueTimeout = config.enqueueTimeout
    this.#maxInputBytes = config.maxInputBytes
    this.defaultQueue = config.defaults?.queue ?? 'default'
    this.events = new EventBus(config.log)
    this.instrumentation = config.instrumentation
    this.schedules = scheduleRecords(
      config.registry.values(),
      (task) => resolveOptions([task, this.#defaults]),
      config.maxInputBytes,
    )
  }

  /**
   * Validates and resolves one job into a record; throws `AfterwardInputError` or
   * `AfterwardError`. `levels` are the call-site and route options, highest first.
   */
  prepare(
    task: AnyTask,
    input: unknown,
    levels: readonly [JobOptions | undefined, JobOptions | undefined],
    meta: RecordMeta,
  ): JobRecord {
    if (this.registry.get(task.name) !== task) {
      throw new AfterwardInputError(
        String(task.name),
        'task',
        `Unknown task '${String(task.name)}': add it to createAfterward({ tasks: [...] }) so that workers can run it.`,
        { code: ErrorCode.UNKNOWN_TASK },
      )
    }
    const value = prepareInput(task, input, this.#maxInputBytes)
    const [call, route] = levels
    const resolved =
      call === undefined
        ? this.#resolveCached(task, route)
        : resolveOptions([call, route, task, this.#defaults])
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

  /** Throws `AFTERWARD_CLOSED` once `close()` began (jobs that close() waits for skip this). */
  checkOpen(task: AnyTask): void {
    if (this.closing) {
      throw new AfterwardError(
        ErrorCode.CLOSED,
        `Cannot defer '${task.name}': Afterward is shutting down.`,
      )
    }
  }

  /**
   * Enqueues the records through `producer` (the driver unless a scope brings its own),
   * bounded by `enqueueTimeout`, inside the `enqueue` instrumentation hook if there is one.
   */
  enqueue(
    records: readonly JobRecord[],
    producer: Producer = this.driver,
    log: Logger = this.log,
  ): Promise<EnqueueResult[]> {
    const wrap = this.instrumentation?.enqueue
    if (wrap === undefined) return this.#send(records, producer, log)
    return wrap(records, () => this.#send(records, producer, log))
  }

  // One promise, one timer and a flag per call: this runs once per request, so it allocates as
  // little as it can.
  #send(records: readonly JobRecord[], producer: Producer, log: Logger): Promise<EnqueueResult[]> {
    this.#inflight++
    const started = performance.now()
    const gaveUp = { aborted: false }
    const timeout = this.#enqueueTimeout
    const name = this.driver.name
    return new Promise<EnqueueResult[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        gaveUp.aborted = true
        reject(
          new AfterwardEnqueueError(
            `The ${name} broker did not confirm ${records.length} job(s) (${taskNames(records)}) within ${timeout} ms. Check that it is reachable, or raise enqueueTimeout.`,
          ),
        )
      }, timeout)
      producer.enqueue(records, gaveUp).then(
        (results) => {
          clearTimeout(timer)
          resolve(results)
        },
        (err: unknown) => {
          clearTimeout(timer)
          reject(
            err instanceof AfterwardEnqueueError
              ? err
              : new AfterwardEnqueueError(
                  `The ${name} broker refused ${records.length} job(s) (${taskNames(records)}): ${err instanceof Error ? err.message : String(err)}. Check that it is reachable; none of them was stored.`,
                  { cause: err },
                ),
          )
        },
      )
    }).then(
      (results) => {
        this.#settled()
        this.#enqueued(records, results, started, log)
        return results
      },
      (error: AfterwardEnqueueError) => {
        this.#settled()
        log.error(
          { err: error, requestId: records[0]?.requestId, tasks: taskNames(records) },
          'enqueue failed',
        )
        if (this.events.has('enqueue-failed')) {
          const durationMs = performance.now() - started
          for (const r of records) {
            this.events.emit('enqueue-failed', jobEvent(r, 0, { durationMs, error }))
          }
        }
        throw error
      },
    )
  }

  /** Resolves once no enqueue is in flight. */
  idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve()
    return new Promise<void>((resolve) => (this.#idle = resolve))
  }

  #settled(): void {
    if (--this.#inflight === 0) this.#idle?.()
  }

  // Per-job lines are debug: at info they would cost more than storing the job.
  #enqueued(
    records: readonly JobRecord[],
    results: EnqueueResult[],
    started: number,
    log: Logger,
  ): void {
    const logging = log.isLevelEnabled('debug')
    const emitting = this.events.has('enqueued')
    if (!logging && !emitting) return
    const durationMs = performance.now() - started
    records.forEach((record, i) => {
      const deduplicatedInto = results[i]?.deduplicated === true ? results[i]!.id : undefined
      if (logging) {
        log.debug(
          { ...jobBindings(record), queue: record.options.queue, deduplicatedInto },
          deduplicatedInto ? 'job deduplicated' : 'job enqueued',
        )
      }
      if (emitting) {
        this.events.emit('enqueued', jobEvent(record, 0, { durationMs, deduplicatedInto }))
      }
    })
  }

  // Most defers pass no call-site options: their options depend only on the task and the route's
  // options object, so they are resolved once per pair (frozen, since every job shares them).
  readonly #resolved = new WeakMap<
    AnyTask,
    { none?: ResolvedJobOptions; byRoute: WeakMap<JobOptions, ResolvedJobOptions> }
  >()

  #resolveCached(task: AnyTask, route: JobOptions | undefined): ResolvedJobOptions {
    let perTask = this.#resolved.get(task)
    if (!perTask) this.#resolved.set(task, (perTask = { byRoute: new WeakMap() }))
    const cached = route === undefined ? perTask.none : perTask.byRoute.get(route)
    if (cached) return cached
    const levels = [route, task, this.#defaults]
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
}

/**
 * A lifecycle event of a record at a given attempt: the fields every event carries, then the
 * event's own (`fields`). One literal with `fields` spread last: V8 builds `{ ...base, extra }`
 * (spread first, then more properties) on a slow path, about 1 µs per event on Node 20.
 */
export function jobEvent<F extends object = Record<never, never>>(
  record: Pick<JobRecord, 'id' | 'task' | 'options' | 'requestId' | 'trace'>,
  attempt: number,
  fields?: F,
): JobEvent & F {
  return {
    jobId: record.id,
    task: record.task,
    queue: record.options.queue,
    attempt,
    requestId: record.requestId,
    trace: record.trace,
    ...fields,
  } as JobEvent & F
}

function taskNames(records: readonly JobRecord[]): string {
  return [...new Set(records.map((r) => r.task))].join(', ')
}
