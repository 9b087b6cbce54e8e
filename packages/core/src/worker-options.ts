// The options of `afterward.worker()`: their defaults and checks, applied in one place.
import type { StallOptions } from './driver.js'
import type { Runtime } from './runtime.js'
import { AfterwardError, ErrorCode } from './errors.js'

/** Options of `afterward.worker()`. */
export interface WorkerOptions {
  /** Jobs run at once by this worker, per queue. @defaultValue 10 */
  concurrency?: number
  /** Queues to take jobs from. @defaultValue the queues of the registered tasks */
  queues?: readonly string[]
  /** On `close()`, how long to wait for running jobs before aborting them and handing them back. @defaultValue 30_000 */
  gracePeriod?: number
  /**
   * How long a running job's lock lasts (bullmq(); renewed every half of it). A worker that
   * dies leaves its jobs locked this long, so a shorter lock recovers them sooner; but a job
   * whose process is blocked (synchronous CPU work, a debugger) longer than this loses its lock
   * and runs again elsewhere. @defaultValue 8_000
   */
  lockDuration?: number
  /**
   * How often this worker looks for running jobs whose lock expired and puts them back
   * (bullmq()). With the default lock, a crashed worker's jobs run again within about
   * `lockDuration + stalledInterval` (12 s). @defaultValue 4_000
   */
  stalledInterval?: number
  /**
   * Times a job may be found stalled (its worker died during it) before it fails for good
   * instead of running again: a job that keeps crashing its worker stops there. @defaultValue 1
   */
  maxStalledCount?: number
}

/** {@link WorkerOptions} with every default applied. */
export interface ResolvedWorkerOptions {
  concurrency: number
  gracePeriod: number
  stall: StallOptions
  queues: readonly string[]
}

/**
 * Checks a worker's options and applies their defaults; throws `AFTERWARD_CONFIG_INVALID` on a
 * bad value. The default queues are those of the registered tasks.
 *
 * @example
 * const { concurrency, queues } = resolveWorkerOptions(runtime, { concurrency: 20 })
 */
export function resolveWorkerOptions(
  runtime: Runtime,
  options: WorkerOptions,
): ResolvedWorkerOptions {
  const concurrency = options.concurrency ?? 10
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `worker: concurrency must be an integer >= 1 (got ${String(concurrency)}).`,
    )
  }
  const stall = {
    lockDuration: positiveMs('lockDuration', options.lockDuration ?? 8_000),
    stalledInterval: positiveMs('stalledInterval', options.stalledInterval ?? 4_000),
    maxStalledCount: count('maxStalledCount', options.maxStalledCount ?? 1),
  }
  const { defaultQueue } = runtime
  const taskQueues = [...runtime.registry.values()].map((t) => t.queue ?? defaultQueue)
  const queues = options.queues ?? [...new Set(taskQueues.length > 0 ? taskQueues : [defaultQueue])]
  return { concurrency, gracePeriod: options.gracePeriod ?? 30_000, stall, queues }
}

function positiveMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 1) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `worker: ${name} must be a positive number of ms (got ${String(value)}).`,
    )
  }
  return value
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `worker: ${name} must be an integer >= 0 (got ${String(value)}).`,
    )
  }
  return value
}
