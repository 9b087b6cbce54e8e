import { randomUUID } from 'node:crypto'
import type { EnqueueResult, JobRecord } from './driver.js'
import type { JobOptions } from './options.js'
import type { AnyTask, DeferArgs, DeferredJob } from './task.js'
import { AfterwardError, ErrorCode } from './errors.js'

/** Options of one defer scope (one request, or one task attempt for `ctx.defer`). */
export interface DeferScopeOptions {
  /** Stored on every job of the scope; `afterward.jobs.byRequest(requestId)` finds them. */
  requestId?: string
  /** Route-level options: above the task's, below the call site's. */
  options?: JobOptions
  /** W3C trace context (`traceparent`, `tracestate`) carried to the jobs. */
  trace?: Record<string, string>
}

/** What a scope needs from its instance; kept narrow so scopes stay easy to test and reason about. */
export interface ScopeHost {
  /** Validates and resolves one job; throws `AfterwardInputError` / `AfterwardError`. */
  prepare(
    task: AnyTask,
    input: unknown,
    levels: readonly (JobOptions | undefined)[],
    meta: { id: string; requestId: string | undefined; trace: Record<string, string> | undefined },
  ): JobRecord
  /** Stores the records in one round trip, bounded by `enqueueTimeout`. */
  store(records: readonly JobRecord[]): Promise<EnqueueResult[]>
}

/**
 * The jobs deferred during one request (or one task attempt), held until `flush` stores them in
 * one round trip or `discard` drops them. The HTTP adapters create one per request; use it
 * directly to give any other unit of work the same rule.
 *
 * @example
 * const scope = afterward.scope({ requestId: 'req-1' })
 * scope.defer(sendWelcomeEmail, { userId: 1 })
 * await scope.flush() // throws AfterwardEnqueueError if the broker did not store them
 */
export class DeferScope {
  readonly requestId: string | undefined
  #records: JobRecord[] = []
  #state: 'open' | 'flushing' | 'flushed' | 'discarded' = 'open'
  readonly #host: ScopeHost
  readonly #options: DeferScopeOptions
  #trace: Record<string, string> | undefined

  constructor(host: ScopeHost, options: DeferScopeOptions = {}) {
    this.#host = host
    this.#options = options
    this.requestId = options.requestId
  }

  /** Jobs buffered and not yet flushed or discarded. */
  get size(): number {
    return this.#records.length
  }

  /** `open` until `flush` or `discard` is called. */
  get state(): 'open' | 'flushing' | 'flushed' | 'discarded' {
    return this.#state
  }

  /**
   * Checks and buffers a job; returns its id at once. Throws `AfterwardInputError` for bad
   * input (nothing is buffered then) and `AfterwardError` (`AFTERWARD_CLOSED`) once the scope
   * has been flushed or discarded.
   */
  defer<T extends AnyTask>(task: T, ...[input, options]: DeferArgs<T>): DeferredJob {
    if (this.#state !== 'open') {
      throw new AfterwardError(
        ErrorCode.CLOSED,
        `Cannot defer '${task.name}': this scope was already ${this.#state === 'discarded' ? 'discarded' : 'flushed'} (the response is on its way). Defer before the handler returns, or use afterward.enqueue().`,
        { retryable: false },
      )
    }
    const record = this.#host.prepare(task, input, [options, this.#options.options], {
      id: randomUUID(),
      requestId: this.#options.requestId,
      // Shared by the scope's jobs and copied once: drivers keep the records they are given, so
      // later changes to the caller's object must not reach them.
      trace: (this.#trace ??= this.#options.trace && { ...this.#options.trace }),
    })
    this.#records.push(record)
    return { id: record.id }
  }

  /** Stores every buffered job in one round trip. Safe to call when empty, and only once. */
  flush(): Promise<EnqueueResult[]> {
    if (this.#state !== 'open') {
      return Promise.reject(
        new AfterwardError(ErrorCode.CLOSED, `This scope was already ${this.#state}.`, {
          retryable: false,
        }),
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
    const stored = this.#host.store(records)
    stored.then(done, done)
    return stored
  }

  /** Drops every buffered job (the request failed). Idempotent. */
  discard(): number {
    const dropped = this.#records.length
    this.#records = []
    if (this.#state === 'open') this.#state = 'discarded'
    return dropped
  }
}
