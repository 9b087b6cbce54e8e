import type { DeliveredJob } from './driver.js'
import type { AnyTask, DeferArgs, DeferredJob } from './task.js'
import { DeferScope, type ScopeHost } from './defer-scope.js'

/**
 * The follow-up jobs of one attempt (`ctx.defer`). Their scope is made by the first defer: most
 * tasks defer nothing, and a worker should not pay for a scope per job. Once settled, a late
 * defer is refused exactly as by a scope that was flushed or discarded.
 */
export class FollowUps {
  #scope: DeferScope | undefined
  readonly #host: ScopeHost
  readonly #job: DeliveredJob

  constructor(host: ScopeHost, job: DeliveredJob) {
    this.#host = host
    this.#job = job
  }

  defer<T extends AnyTask>(task: T, ...args: DeferArgs<T>): DeferredJob {
    this.#scope ??= new DeferScope(this.#host, {
      requestId: this.#job.requestId,
      trace: this.#job.trace,
    })
    return this.#scope.defer(task, ...args)
  }

  /** Drops the buffered jobs (the attempt failed); returns how many. */
  discard(): number {
    const scope = this.#scope
    this.#scope = scope ?? DISCARDED
    return scope?.discard() ?? 0
  }

  /** Stores the buffered jobs in one round trip; `undefined` (nothing to wait for) if none. */
  flush(): Promise<unknown> | undefined {
    const scope = this.#scope
    this.#scope = scope ?? FLUSHED
    return scope?.flush()
  }
}

// Closed scopes shared by the attempts that deferred nothing: their refusals are the same.
const nowhere: ScopeHost = {
  prepare: () => {
    throw new Error('unreachable: a closed scope prepares nothing')
  },
  store: () => Promise.resolve([]),
}
const DISCARDED = new DeferScope(nowhere)
DISCARDED.discard()
const FLUSHED = new DeferScope(nowhere)
void FLUSHED.flush()
