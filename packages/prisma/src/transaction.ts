import { AfterwardError, ErrorCode, type AcquireInfo } from '@afterward/core'
import {
  COMMIT_MARGIN_MS,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_TRANSACTION_TIMEOUT_MS,
  type ResolvedOptions,
} from './options.js'
import type { PrismaClientLike, PrismaTransactionOptions } from './types.js'

/** An interactive transaction held open across a task attempt. */
export interface OpenTransaction<T> {
  /** The transaction client handed to the task. */
  tx: T
  /** Commits; throws if the commit failed (or Prisma had already rolled back on its timeout). */
  commit(): Promise<void>
  /** Rolls back; never throws (a dead connection is rolled back by the server). */
  rollback(reason: unknown): Promise<void>
}

/** Thrown inside the callback so that Prisma rolls the transaction back. */
class Rollback extends Error {}

/**
 * Starts `client.$transaction(callback)` and resolves once inside the callback, with the
 * transaction client, while the callback waits for `commit` or `rollback`. Waiting for a
 * connection is bounded by the deadline (`maxWait`); if the worker gives up on the attempt first,
 * it releases a transaction that arrives late, which rolls it back.
 */
export function openTransaction<T>(
  client: PrismaClientLike,
  info: AcquireInfo,
  options: ResolvedOptions,
): Promise<OpenTransaction<T>> {
  let enter!: (tx: T) => void
  let fail!: (err: unknown) => void
  const entered = new Promise<T>((resolve, reject) => {
    enter = resolve
    fail = reject
  })
  let finish!: (commit: boolean, reason?: unknown) => void
  const finished = new Promise<void>((resolve, reject) => {
    finish = (commit, reason) =>
      commit ? resolve() : reject(new Rollback('rollback', { cause: reason }))
  })
  finished.catch(() => {}) // observed by the callback; this branch only keeps Node quiet

  const timeLeft = info.deadline === undefined ? undefined : Math.max(1, info.deadline - Date.now())
  const txOptions: PrismaTransactionOptions = {
    maxWait: timeLeft ?? DEFAULT_MAX_WAIT_MS,
    timeout: timeLeft === undefined ? DEFAULT_TRANSACTION_TIMEOUT_MS : timeLeft + COMMIT_MARGIN_MS,
    ...options.transactionOptions,
  }

  const done = Promise.resolve(
    client.$transaction(async (tx: unknown) => {
      if (options.statementTimeout && info.deadline !== undefined) {
        // Per transaction (`is_local`), so the pooled connection keeps its own setting after.
        const ms = Math.max(1, info.deadline - Date.now())
        await (tx as PrismaClientLike).$executeRawUnsafe(
          `SELECT set_config('statement_timeout', $1, true)`,
          String(ms),
        )
      }
      enter(tx as T)
      await finished
    }, txOptions),
  )
  // Before the callback runs (no connection within maxWait, connection refused), this rejects
  // `entered`; afterwards `entered` has settled and this is a no-op.
  done.catch((err: unknown) => fail(err))

  const settle = async (commit: boolean, reason?: unknown): Promise<void> => {
    finish(commit, reason)
    try {
      await done
    } catch (err) {
      if (commit) {
        throw new AfterwardError(
          ErrorCode.CONTEXT_FAILED,
          `prismaContext: the task's transaction did not commit: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        )
      }
      // Rolling back: Prisma rethrows our Rollback (its own ROLLBACK errors are logged by it).
    }
  }

  return entered.then(
    (tx) => ({ tx, commit: () => settle(true), rollback: (reason) => settle(false, reason) }),
    (err: unknown) => {
      throw new AfterwardError(
        ErrorCode.CONTEXT_FAILED,
        `prismaContext: could not start the task's transaction: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      )
    },
  )
}
