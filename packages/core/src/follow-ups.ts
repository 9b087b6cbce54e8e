import type { DeliveredJob } from './driver.js'
import type { Runtime } from './runtime.js'
import type { AnyTask, DeferArgs, DeferredJob } from './task.js'
import { DeferScope, closedScopeError } from './defer-scope.js'

/**
 * The follow-up jobs of one attempt (`ctx.defer`). Their scope is made by the first defer: most
 * tasks defer nothing, and a worker should not pay for a scope per job. Once settled, a late
 * defer is refused exactly as by a scope that was flushed or discarded.
 */
export class FollowUps {
  #scope: DeferScope | undefined
  #settled: 'flushed' | 'discarded' | undefined
  readonly #runtime: Runtime
  readonly #job: DeliveredJob

  constructor(runtime: Runtime, job: DeliveredJob) {
    this.#runtime = runtime
    this.#job = job
  }

  defer<T extends AnyTask>(task: T, ...args: DeferArgs<T>): DeferredJob {
    if (this.#settled) throw closedScopeError(task, this.#settled)
    // Not guarded: a job that close() waits for may still defer its follow-ups.
    this.#scope ??= new DeferScope(
      this.#runtime,
      { requestId: this.#job.requestId, trace: this.#job.trace },
      false,
    )
    return this.#scope.defer(task, ...args)
  }

  /** Drops the buffered jobs (the attempt failed); returns how many. */
  discard(): number {
    this.#settled ??= 'discarded'
    return this.#scope?.discard() ?? 0
  }

  /** Enqueues the buffered jobs in one round trip; `undefined` (nothing to wait for) if none. */
  flush(): Promise<unknown> | undefined {
    this.#settled ??= 'flushed'
    return this.#scope?.flush()
  }
}
