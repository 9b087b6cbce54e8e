import { AfterwardError, ErrorCode, type Driver, type Producer } from '@afterward/core'
import { pino, type Logger } from 'pino'
import { outboxDriver } from './outbox-driver.js'
import {
  resolveOutboxOptions,
  type OutboxClient,
  type PrismaOutboxOptions,
} from './outbox-options.js'
import { createRelay, readOutboxLag, type OutboxLag, type OutboxRelay } from './outbox-relay.js'

/**
 * Options of a relay that runs on its own (`outbox.relay(producer, options)`).
 *
 * @example
 * outbox.relay(bullmq({ connection }), { logger: pino({ level: 'warn' }) })
 */
export interface OutboxRelayOptions {
  /**
   * Where the relay logs (start, broker failures with the backlog, recovery).
   * @defaultValue pino at `AFTERWARD_LOG_LEVEL` or `info`
   */
  logger?: Logger
}

/**
 * What `prismaOutbox` returns.
 *
 * @example
 * const outbox: PrismaOutbox = prismaOutbox(prisma, { listen: process.env.DATABASE_URL })
 * const driver = outbox.driver(bullmq({ connection: process.env.REDIS_URL! }))
 * console.log(await outbox.lag()) // { waiting: 0, oldestMs: 0 }
 */
export interface PrismaOutbox {
  /**
   * `inner` with an outbox in front: pass it to `createAfterward({ driver })`. Then
   * `afterward.deferIn(tx, task, input)` writes jobs inside `tx`, `jobs.get` and `jobs.byRequest`
   * show them as `pending` until relayed, and every process that starts a worker runs a relay.
   */
  driver(inner: Driver): Driver
  /** A relay on its own, storing into `producer` (a driver); `start()` it. */
  relay(producer: Producer, options?: OutboxRelayOptions): OutboxRelay
  /** Rows waiting in the outbox and the age of the oldest. */
  lag(): Promise<OutboxLag>
}

/**
 * A transactional outbox on the database of `prisma`: jobs deferred with
 * `afterward.deferIn(tx, ...)` are written in the caller's transaction and exist if and only if it
 * commits; a relay then moves them to the broker, with the same ids. The table comes from
 * `sql/outbox.sql` (apply it once: `psql "$DATABASE_URL" -f node_modules/@afterward/prisma/sql/outbox.sql`).
 *
 * @example
 * const outbox = prismaOutbox(prisma, { listen: process.env.DATABASE_URL })
 * const afterward = createAfterward({ tasks, driver: outbox.driver(bullmq({ connection })) })
 * await prisma.$transaction(async (tx) => {
 *   const order = await tx.order.create({ data })
 *   await afterward.deferIn(tx, sendReceipt, { orderId: order.id })
 * })
 */
export function prismaOutbox(
  prisma: OutboxClient,
  options: PrismaOutboxOptions = {},
): PrismaOutbox {
  if (
    typeof prisma !== 'object' ||
    prisma === null ||
    typeof prisma.$transaction !== 'function' ||
    typeof prisma.$queryRawUnsafe !== 'function'
  ) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      'prismaOutbox: pass your PrismaClient (the one whose transactions defer jobs): prismaOutbox(prisma, { listen: process.env.DATABASE_URL }).',
    )
  }
  const resolved = resolveOutboxOptions(options)
  const relay = (producer: Producer, relayOptions: OutboxRelayOptions = {}): OutboxRelay =>
    createRelay(
      prisma,
      producer,
      resolved,
      relayOptions.logger ?? pino({ level: process.env.AFTERWARD_LOG_LEVEL ?? 'info' }),
    )
  return {
    driver: (inner) => outboxDriver(inner, prisma, resolved),
    relay,
    lag: () => readOutboxLag(prisma),
  }
}
