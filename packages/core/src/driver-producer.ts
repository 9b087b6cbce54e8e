// The producer side of a driver: storing job records, giving up on a store, and writing inside a
// database transaction. Part of the driver interface (driver.ts).
import type { JobRecord } from './driver-records.js'

/** For each record, in order: the id of the job that is now live for it. */
export interface EnqueueResult {
  /** The record's own id, or for a deduplicated `key` the id of the job already live. */
  id: string
  /** True when nothing was stored because a job with the same key was live. */
  deduplicated: boolean
}

/**
 * Tells a driver that its caller gave up (`enqueueTimeout`). An `AbortSignal` is one; the
 * instance passes a plain flag, which costs nothing per enqueue.
 */
export interface GiveUpSignal {
  readonly aborted: boolean
}

/**
 * Enqueues jobs: the side a request scope, `afterward.enqueue` and `ctx.defer` write to. Each
 * driver is one, and anything that stands in front of a driver may be one too (a scope's
 * `producer` option, a transactional outbox).
 *
 * @example
 * // A producer in front of a driver, counting what it stores.
 * const driver = memory()
 * let stored = 0
 * const counting: Producer = {
 *   enqueue: async (records, signal) => {
 *     const results = await driver.enqueue(records, signal)
 *     stored += records.length
 *     return results
 *   },
 * }
 */
export interface Producer {
  /**
   * Stores all records in one round trip (per queue), or rejects having stored none. When
   * `signal` aborts first (the caller gave up: `enqueueTimeout`), the producer rejects and
   * removes whatever it stored, so that a client told "not stored" is not lied to.
   *
   * The records are handed over: a producer may keep them as they are (`memory()` does), so the
   * caller must not change them afterwards. Afterward builds a fresh record, with a fresh copy of
   * the input, for every defer.
   */
  enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]>
}

/**
 * Optional capability of a driver that stands in front of a database outbox: jobs written with
 * `producerIn(tx)` exist if and only if that transaction commits, and a relay later moves them
 * to the broker with the same ids. `@afterward/prisma`'s `prismaOutbox(...).driver(inner)` is one.
 *
 * @example
 * const producer = driver.outbox?.producerIn(tx) // throws AfterwardError when tx is not usable
 */
export interface TransactionalOutbox {
  /**
   * A producer that writes records inside the transaction `tx` (the caller's transaction
   * client). Throws `AfterwardError` (`AFTERWARD_CONFIG_INVALID`) at once when `tx` is not one.
   */
  producerIn(tx: unknown): Producer
}
