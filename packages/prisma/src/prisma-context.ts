import { AfterwardError, ErrorCode, type ContextProvider, type SetupInfo } from '@afterward/core'
import { openTransaction, type OpenTransaction } from './transaction.js'
import {
  DEFAULT_INSTANCE_POOL_SIZE,
  factoryPoolSize,
  resolveOptions,
  type PrismaContextOptions,
} from './options.js'
import type { PrismaClientLike, PrismaFactory, TransactionClient } from './types.js'

/**
 * A context provider whose value is a shared Prisma client (`transaction` off) or, per task
 * attempt, an interactive transaction on it (`transaction: true`).
 *
 * Pass either a client instance or a factory. A factory is called once, when the first worker
 * starts, with a pool size derived from the worker's concurrency, and its client is disconnected
 * when the last worker closes. With an instance, give its pool size as `poolSize` so that a worker
 * that would queue for connections logs a warning at start.
 *
 * @example
 * import { PrismaPg } from '@prisma/adapter-pg'
 * import { PrismaClient } from './generated/prisma/client.js'
 *
 * const db = prismaContext(
 *   ({ poolSize }) => new PrismaClient({ adapter: new PrismaPg({ connectionString, max: poolSize }) }),
 *   { transaction: true },
 * )
 * const afterward = createAfterward({ tasks, driver, context: { db } })
 * // in a task: await ctx.db.note.create({ data }) — committed only if the task succeeds
 */
export function prismaContext<C extends PrismaClientLike>(
  prisma: C | PrismaFactory<C>,
  options: PrismaContextOptions & { transaction: true },
): ContextProvider<TransactionClient<C>>
export function prismaContext<C extends PrismaClientLike>(
  prisma: C | PrismaFactory<C>,
  options?: PrismaContextOptions & { transaction?: false },
): ContextProvider<C>
export function prismaContext<C extends PrismaClientLike>(
  prisma: C | PrismaFactory<C>,
  options?: PrismaContextOptions,
): ContextProvider<C | TransactionClient<C>>
export function prismaContext<C extends PrismaClientLike>(
  prisma: C | PrismaFactory<C>,
  options: PrismaContextOptions = {},
): ContextProvider<C | TransactionClient<C>> {
  const factory = typeof prisma === 'function' ? (prisma as PrismaFactory<C>) : undefined
  if (
    factory === undefined &&
    (typeof prisma !== 'object' || prisma === null || !('$transaction' in prisma))
  ) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      'prismaContext: pass a PrismaClient, or a factory ({ poolSize }) => new PrismaClient(...).',
    )
  }
  const resolved = resolveOptions(options)
  let client: C | undefined = factory === undefined ? (prisma as C) : undefined
  let poolSize =
    resolved.poolSize ?? (factory === undefined ? DEFAULT_INSTANCE_POOL_SIZE : undefined)
  // Workers of this process served by the provider, with their concurrency.
  let users = 0
  let concurrency = 0
  const open = new WeakMap<object, OpenTransaction<TransactionClient<C>>>()

  const requireClient = (): C => {
    if (client !== undefined) return client
    throw new AfterwardError(
      ErrorCode.CONTEXT_FAILED,
      'prismaContext: the client is made by a factory when a worker starts; start the worker (worker.start()) before running tasks.',
    )
  }

  return {
    setup({ concurrency: workerConcurrency, log }: SetupInfo) {
      users += 1
      concurrency += workerConcurrency
      if (client === undefined && factory !== undefined) {
        poolSize = resolved.poolSize ?? factoryPoolSize(workerConcurrency)
        client = factory({ poolSize })
        log.debug({ poolSize }, 'prisma client created')
      }
      if (poolSize !== undefined && concurrency > poolSize) {
        log.warn(
          { concurrency, poolSize, transaction: resolved.transaction },
          `prismaContext: worker concurrency ${concurrency} exceeds the Prisma pool size ${poolSize}: tasks will queue for connections` +
            (resolved.transaction ? ' (each holds one for its whole transaction)' : '') +
            '. Raise the pool (and poolSize), lower the concurrency, or pass a factory ({ poolSize }) => PrismaClient.',
        )
      }
    },

    async acquire(info) {
      const current = requireClient()
      if (!resolved.transaction) return current
      const transaction = await openTransaction<TransactionClient<C>>(current, info, resolved)
      open.set(transaction.tx, transaction)
      return transaction.tx
    },

    async release(value, outcome) {
      const transaction = open.get(value)
      if (transaction === undefined) return
      open.delete(value)
      if (outcome.status === 'success') await transaction.commit()
      else await transaction.rollback(outcome.error)
    },

    async teardown() {
      users = Math.max(0, users - 1)
      if (users > 0) return
      concurrency = 0
      if (!resolved.disconnectOnClose) return
      const current = client
      // A factory's client is made again by the next worker to start; an instance reconnects
      // lazily on its next query (Prisma's behaviour after $disconnect).
      if (factory !== undefined) client = undefined
      await current?.$disconnect()
    },
  }
}
