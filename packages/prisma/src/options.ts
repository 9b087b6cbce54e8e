import { AfterwardError, ErrorCode } from '@afterward/core'
import type { PrismaTransactionOptions } from './types.js'

/**
 * Options of `prismaContext`.
 *
 * @example
 * prismaContext(prisma, { transaction: true, poolSize: 10, disconnectOnClose: false })
 */
export interface PrismaContextOptions {
  /**
   * Run each task attempt in an interactive transaction: `ctx.db` is the transaction client,
   * committed when the task succeeds and rolled back when it throws, times out or is aborted at
   * shutdown. A failed commit fails the attempt (and it is retried).
   * @defaultValue false
   */
  transaction?: boolean
  /**
   * Connections in the client's pool. With a client instance, say how large its pool is (the
   * `max` you gave `PrismaPg`) so that a worker whose concurrency exceeds it logs a warning at
   * start. With a factory, the size passed to it.
   * @defaultValue with an instance 10 (pg's default); with a factory the worker's concurrency + 1
   */
  poolSize?: number
  /**
   * Call `$disconnect()` when the last worker using this provider closes. Turn it off when the
   * client is an instance that the rest of the process (an HTTP app) keeps using.
   * @defaultValue true
   */
  disconnectOnClose?: boolean
  /**
   * With `transaction: true` and a task `timeout`: set PostgreSQL's `statement_timeout` for the
   * transaction (`SET LOCAL`) to the time left until the deadline, so that a query still running
   * when the task times out is cancelled by the server and its connection returns at once.
   * PostgreSQL only: turn it off for other databases.
   * @defaultValue true
   */
  statementTimeout?: boolean
  /**
   * With `transaction: true`: Prisma's transaction options. `timeout` defaults to the time left
   * until the task's deadline plus 5 s (for the commit), or 5 minutes for tasks without a
   * timeout; `maxWait` to the time left until the deadline, or 10 s.
   * @defaultValue derived from the task's deadline, see above
   */
  transactionOptions?: PrismaTransactionOptions
}

/** {@link PrismaContextOptions} with the defaults that do not depend on the worker. */
export interface ResolvedOptions {
  transaction: boolean
  poolSize: number | undefined
  disconnectOnClose: boolean
  statementTimeout: boolean
  transactionOptions: PrismaTransactionOptions
}

/** The pool size of a client instance when the user does not say: pg's default `max`. */
export const DEFAULT_INSTANCE_POOL_SIZE = 10
/** Pool size a factory gets: one connection per concurrent task, plus one spare. */
export const factoryPoolSize = (concurrency: number): number => concurrency + 1
/** Transaction timeout added to the time left until the deadline, for the commit. */
export const COMMIT_MARGIN_MS = 5_000
/** Transaction timeout of a task without a timeout. */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 300_000
/** Wait for a connection to start a transaction on, for a task without a timeout. */
export const DEFAULT_MAX_WAIT_MS = 10_000

export function resolveOptions(options: PrismaContextOptions): ResolvedOptions {
  const { poolSize } = options
  if (poolSize !== undefined && (!Number.isInteger(poolSize) || poolSize < 1)) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `prismaContext: poolSize must be an integer >= 1 (got ${String(poolSize)}).`,
    )
  }
  for (const name of ['maxWait', 'timeout'] as const) {
    const value = options.transactionOptions?.[name]
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `prismaContext: transactionOptions.${name} must be a number of ms > 0 (got ${String(value)}).`,
      )
    }
  }
  return {
    transaction: options.transaction ?? false,
    poolSize,
    disconnectOnClose: options.disconnectOnClose ?? true,
    statementTimeout: options.statementTimeout ?? true,
    transactionOptions: options.transactionOptions ?? {},
  }
}
