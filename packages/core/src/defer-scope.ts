import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { EnqueueResult, JobRecord, Producer } from './driver.js'
import type { JobOptions } from './options.js'
import type { Runtime } from './runtime.js'
import type { AnyTask, DeferArgs, DeferredJob } from './task.js'
import { AfterwardError, ErrorCode } from './errors.js'
import { jobBindings } from './logger.js'
import { jobEvent } from './runtime.js'

/** Options of one defer scope (one request, or one task attempt for `ctx.defer`). */
export interface DeferScopeOptions {
  /** Stored on every job of the scope; `afterward.jobs.byRequest(requestId)` finds them. */
  requestId?: string
  /** Route-level options: above the task's, below the call site's. */
  options?: JobOptions
  /** W3C trace context (`traceparent`, `tracestate`) carried to the jobs. */
  trace?: Record<string, string>
  /**
   * Where `flush` enqueues the jobs. @defaultValue the instance's driver. A producer that stands
   * in front of the broker (a transactional outbox, say) plugs in here.
   */
  producer?: Producer
  /**
   * Logger of the scope's per-job lines (`job deferred`, `job discarded`, at debug).
   * @defaultValue the instance's logger (the HTTP adapters pass the request's)
   */
  log?: Logger
}

/** Scope states: `open` until `flush` or `discard` is called. */
export type DeferScopeState = 'open' | 'flushing' | 'flushed' | 'discarded'

/**
 * The jobs deferred during one request (or one task attempt), held until `flush` enqueues them
 * in one round trip or `discard` drops them. The HTTP adapters create one per request; use it
 * directly (`afterward.scope()`) to give any other unit of work the same rule.
 *
 * @example
 * const scope = afterward.scope({ requestId: 'req-1' })
 * scope.defer(sendWelcomeEmail, { userId: 1 })
 * await scope.flush() // throws AfterwardEnqueueError if the broker did not store them
 */
export class DeferScope {
  readonly requestId: string | undefined
  #records: JobRecord[] = []
  #state: DeferScopeState = 'open'
  readonly #runtime: Runtime
  readonly #options: DeferScopeOptions
  readonly #guarded: boolean
  #trace: Record<string, string> | undefined

  /**
   * @internal Made by `afterward.scope()`. `guarded` scopes refuse defers once the instance is
   * closing; the follow-up scopes of jobs that `close()` waits for are not guarded.
   */
  constructor(runtime: Runtime, options: DeferScopeOptions = {}, guarded = true) {
    this.#runtime = runtime
    this.#options = options
    this.#guarded = guarded
    this.requestId = options.requestId
  }

  /** Jobs buffered and not yet flushed or discarded. */
  get size(): number {
    return this.#records.length
  }

  /** `open` until `flush` or `discard` is called. */
  get state(): DeferScopeState {
    return this.#state
  }

  /**
   * Checks and buffers a job; returns its id at once. Throws `AfterwardInputError` for bad
   * input (nothing is buffered then) and `AfterwardError` (`AFTERWARD_CLOSED`) once the scope
   * has been flushed or discarded, or the instance is closing.
   */
  defer<T extends AnyTask>(task: T, ...[input, options]: DeferArgs<T>): DeferredJob {
    if (this.#state !== 'open') throw closedScopeError(task, this.#state)
    const runtime = this.#runtime
    if (this.#guarded) runtime.checkOpen(task)
    const record = runtime.prepare(task, input, [options, this.#options.options], {
      id: randomUUID(),
      requestId: this.#options.requestId,
      // Shared by the scope's jobs and copied once: drivers keep the records they are given, so
      // later changes to the caller's object must not reach them.
      trace: (this.#trace ??= this.#options.trace && { ...this.#options.trace }),
    })
    runtime.instrumentation?.defer?.(record)
    this.#records.push(record)
    if (runtime.events.has('deferred')) runtime.events.emit('deferred', jobEvent(record, 0))
    const log = this.#options.log ?? runtime.log
    if (log.isLevelEnabled('debug')) log.debug(jobBindings(record), 'job deferred')
    return { id: record.id }
  }

  /**
   * Checks a job exactly like `defer` (with this scope's request id, route options and trace)
   * and writes it at once inside the database transaction `tx`, through the driver's outbox
   * (`Driver.outbox`): the job exists if and only if `tx` commits. Await it inside the
   * transaction. This scope's buffer is untouched: the job does not wait for `flush`.
   */
  async deferIn<T extends AnyTask>(
    tx: unknown,
    task: T,
    ...args: DeferArgs<T>
  ): Promise<DeferredJob> {
    const producer = outboxProducer(this.#runtime, tx, task)
    const scope = new DeferScope(this.#runtime, { ...this.#options, producer }, this.#guarded)
    const job = scope.defer(task, ...args)
    try {
      await scope.flush()
    } catch (err) {
      // The outbox names its own problems (no such table, ...): pass them on as they are.
      const cause = err instanceof Error ? err.cause : undefined
      throw cause instanceof AfterwardError && cause.code !== ErrorCode.ENQUEUE_FAILED ? cause : err
    }
    return job
  }

  /** Enqueues every buffered job in one round trip. Safe to call when empty, and only once. */
  flush(): Promise<EnqueueResult[]> {
    if (this.#state !== 'open') {
      return Promise.reject(
        new AfterwardError(ErrorCode.CLOSED, `This scope was already ${this.#state}.`),
      )
    }
    const records = this.#records
    this.#records = []
    if (records.length === 0) {
      this.#state = 'flushed'
      return Promise.resolve([])
    }
    this.#state = 'flushing'
    const done = (): void => {
      this.#state = 'flushed'
    }
    const enqueued = this.#runtime.enqueue(records, this.#options.producer, this.#options.log)
    enqueued.then(done, done)
    return enqueued
  }

  /** Drops every buffered job (the request failed). Idempotent. Returns how many were dropped. */
  discard(): number {
    const records = this.#records
    this.#records = []
    if (this.#state === 'open') this.#state = 'discarded'
    if (records.length === 0) return 0
    const { events } = this.#runtime
    const log = this.#options.log ?? this.#runtime.log
    const logging = log.isLevelEnabled('debug')
    for (const record of records) {
      if (events.has('discarded')) events.emit('discarded', jobEvent(record, 0))
      if (logging) log.debug(jobBindings(record), 'job discarded')
    }
    return records.length
  }
}

/** The driver's producer inside `tx`, or the error that says how to get one. */
function outboxProducer(runtime: Runtime, tx: unknown, task: AnyTask): Producer {
  const outbox = runtime.driver.outbox
  if (outbox === undefined) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `Cannot defer '${task.name}' inside a transaction: the ${runtime.driver.name} driver has no outbox. Put one in front of it: createAfterward({ driver: prismaOutbox(prisma).driver(${runtime.driver.name}(...)) }) (@afterward/prisma).`,
    )
  }
  return outbox.producerIn(tx)
}

/** The refusal of a defer into a scope that is no longer open. */
export function closedScopeError(task: AnyTask, state: DeferScopeState): AfterwardError {
  return new AfterwardError(
    ErrorCode.CLOSED,
    `Cannot defer '${task.name}': this scope was already ${state === 'discarded' ? 'discarded' : 'flushed'} (the response is on its way). Defer before the handler returns, or use afterward.enqueue().`,
  )
}
