/**
 * The abort of one task attempt: at its timeout, or when the worker gives up on it at shutdown.
 * Its `AbortSignal` (`ctx.signal`, `acquire`'s `info.signal`) is made only when read: most tasks
 * never read it, and an `AbortController` with its listeners per job is a measurable share of a
 * busy worker's CPU.
 */
export class AttemptAbort {
  #aborted = false
  #reason: unknown
  #controller: AbortController | undefined
  /** Rejects the pending `race`, if any. */
  #interrupt: ((reason: unknown) => void) | undefined

  get aborted(): boolean {
    return this.#aborted
  }

  /** Why the attempt was aborted; `undefined` while it was not. */
  get reason(): unknown {
    return this.#reason
  }

  /** An `AbortSignal` that aborts with the attempt (already aborted if the attempt is). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  /** Aborts the attempt once; later calls are ignored. */
  abort(reason: unknown): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#controller?.abort(reason)
    this.#interrupt?.(reason)
  }

  /**
   * Settles with `work`, or rejects with the reason as soon as the attempt is aborted. An attempt
   * runs its steps one after the other, so one race is pending at a time.
   */
  race<T>(work: T | PromiseLike<T>): Promise<T> {
    if (this.#aborted) return Promise.reject(this.#reason as Error)
    return new Promise<T>((resolve, reject) => {
      this.#interrupt = reject
      Promise.resolve(work).then(resolve, reject)
    })
  }
}
