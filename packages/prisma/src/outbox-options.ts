import { AfterwardError, ErrorCode } from '@afterward/core'
import type { PrismaTransactionOptions } from './types.js'

/**
 * The part of a Prisma client that the outbox uses: raw queries for inspection and the relay's
 * interactive transactions. Any Prisma 7 client fits (typed structurally).
 *
 * @example
 * const client: OutboxClient = new PrismaClient({ adapter: new PrismaPg({ connectionString }) })
 */
export interface OutboxClient {
  $transaction<R>(
    fn: (tx: OutboxTransaction) => Promise<R>,
    options?: PrismaTransactionOptions,
  ): PromiseLike<R>
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>
}

/**
 * The part of a Prisma transaction client that the relay uses.
 *
 * @example
 * await prisma.$transaction(async (tx: OutboxTransaction) => tx.$executeRawUnsafe('SELECT 1'))
 */
export interface OutboxTransaction {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>
}

/**
 * Options of `prismaOutbox`.
 *
 * @example
 * prismaOutbox(prisma, { listen: process.env.DATABASE_URL, pollInterval: 1_000 })
 */
export interface PrismaOutboxOptions {
  /**
   * A PostgreSQL connection string: the relay keeps one connection there to `LISTEN` for new
   * rows, and moves them within milliseconds of the commit (needs the `pg` package). Without
   * it, the relay finds new rows by polling every `pollInterval`.
   * @defaultValue undefined (poll only)
   */
  listen?: string
  /** ms between two looks at the table when nothing woke the relay. @defaultValue 1_000 */
  pollInterval?: number
  /** Rows moved per batch (one transaction, one broker round trip). @defaultValue 100 */
  batchSize?: number
  /** Longest wait for the broker to store a batch, in ms. @defaultValue 5_000 */
  enqueueTimeout?: number
  /**
   * Run a relay in every process that starts a worker on the driver made by `.driver(inner)`.
   * Turn it off when relays run on their own (`.relay(driver).start()`).
   * @defaultValue true
   */
  relayInWorkers?: boolean
}

export interface ResolvedOutboxOptions {
  listen: string | undefined
  pollInterval: number
  batchSize: number
  enqueueTimeout: number
  relayInWorkers: boolean
}

export function resolveOutboxOptions(options: PrismaOutboxOptions): ResolvedOutboxOptions {
  const positive = (name: 'pollInterval' | 'batchSize' | 'enqueueTimeout', fallback: number) => {
    const value = options[name]
    if (value === undefined) return fallback
    if (!Number.isInteger(value) || value < 1) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `prismaOutbox: ${name} must be an integer >= 1 (got ${String(value)}).`,
      )
    }
    return value
  }
  if (options.listen !== undefined && typeof options.listen !== 'string') {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      'prismaOutbox: listen must be a PostgreSQL connection string, such as process.env.DATABASE_URL.',
    )
  }
  return {
    listen: options.listen,
    pollInterval: positive('pollInterval', 1_000),
    batchSize: positive('batchSize', 100),
    enqueueTimeout: positive('enqueueTimeout', 5_000),
    relayInWorkers: options.relayInWorkers ?? true,
  }
}
