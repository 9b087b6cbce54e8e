// The optional limiter capability of a driver: task limits (`limit`, `rate`) enforced across every
// process that shares the broker. Part of the driver interface (driver.ts).

/** What one job asks of its task's limits before it starts (limit-gate.ts builds it). */
export interface LimitRequest {
  /** The job asking: a concurrency slot is held in its name. */
  jobId: string
  /** A slot among `max` for `key`, held until released (or `lease` ms without renewal). */
  concurrency?: { key: string; max: number; lease: number } | undefined
  /** A start among `max` in any window of `per` ms for `key`. */
  rate?: { key: string; max: number; per: number } | undefined
}

/** A limiter's answer: start now (and release the slot after), or wait `retryIn` ms. */
export type LimitDecision =
  | {
      readonly granted: true
      /** When the start was granted, on the limiter's clock (ms since the epoch). */
      readonly startedAt: number
      /** Extends the slot's lease by `lease` ms while the job runs. */
      renew(): Promise<void>
      /** Frees the concurrency slot (a no-op without one). */
      release(): Promise<void>
    }
  | {
      readonly granted: false
      /** How long to wait before asking again, in ms; undefined when a slot may free any time. */
      readonly retryIn: number | undefined
    }

/**
 * Optional capability of a driver that enforces task limits (`limit`, `rate`) across every
 * process that shares its broker. Checking a concurrency slot and a rate window is one atomic
 * step, so that a job never takes one without the other.
 *
 * @example
 * const decision = await driver.limiter!.acquire({
 *   jobId,
 *   concurrency: { key: 'sync-tenant#acme', max: 1, lease: 8_000 },
 * })
 * if (decision.granted) await decision.release()
 */
export interface Limiter {
  acquire(request: LimitRequest): Promise<LimitDecision>
}
