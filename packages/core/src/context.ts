import type { Logger } from 'pino'
import type { JobMeta } from './task.js'

/** How a task attempt ended, as told to `release`. */
export interface TaskOutcome {
  /** `shutdown`: the worker stopped waiting past its grace period; the job will run again. */
  status: 'success' | 'failure' | 'timeout' | 'shutdown'
  error: Error | undefined
}

/** What `acquire` learns about the attempt it serves. */
export interface AcquireInfo extends JobMeta {
  /** Aborts at the attempt's deadline or at shutdown. */
  signal: AbortSignal
  /** Epoch ms at which the attempt times out, if it has a timeout. */
  deadline: number | undefined
}

/** What `setup` learns about the worker it serves. */
export interface SetupInfo {
  /** Jobs the worker runs at once. */
  concurrency: number
  log: Logger
}

/**
 * A source of one `ctx` value per task attempt, such as a database client or transaction.
 * `setup` runs once when a worker starts, `acquire` before each attempt, `release` after it
 * in every case (success, throw, timeout, shutdown), and `teardown` when the worker closes.
 * A `release` that throws after a successful task fails the attempt (a commit that failed).
 *
 * @example
 * const clock: ContextProvider<() => Date> = { acquire: () => () => new Date() }
 * createAfterward({ tasks, driver, context: { now: clock } })
 */
export interface ContextProvider<V> {
  setup?(info: SetupInfo): Promise<void> | void
  acquire(info: AcquireInfo): Promise<V> | V
  release?(value: V, outcome: TaskOutcome): Promise<void> | void
  teardown?(): Promise<void> | void
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ContextProviders = Record<string, ContextProvider<any>>

/** The `ctx` values a set of providers yields: `{ db: prismaContext(p) }` → `{ db: ... }`. */
export type InferContext<P extends ContextProviders> = {
  [K in keyof P]: P[K] extends ContextProvider<infer V> ? V : never
}
