// What the bullmq() driver needs from its backend besides BullMQ itself: Redis and PostgreSQL
// each implement it (store-redis.ts, store-postgres.ts), so that index.ts stays one driver.
import type { JobRecord, Limiter } from '../../driver.js'

/** How to build BullMQ's `Queue`, `Worker` and `QueueEvents` on one backend. */
export interface BullBinding {
  /** The `connection` option handed to BullMQ. */
  readonly connection: unknown
  /** BullMQ's third constructor argument (a `BackendFactory`); undefined means Redis. */
  readonly backend: unknown
  /** Releases what the binding opened and BullMQ does not close itself. Idempotent. */
  release(): Promise<void>
}

/** A job listed in the request index: enough to find it again. */
export interface RequestMember {
  queue: string
  id: string
}

/**
 * The connection-level side of a backend: readiness, the per-request index behind
 * `jobs.byRequest`, and the registry of queue names that `jobs.get`, `jobs.list` and
 * `jobs.counts` search.
 */
export interface BackendStore {
  /** `Redis` or `PostgreSQL`, for messages. */
  readonly label: string
  /** The `lastEventId` from which `QueueEvents` reads a queue's events from the start. */
  readonly firstEventId: string
  /** BullMQ's key prefix, or undefined where the backend ignores it (PostgreSQL uses a schema). */
  readonly prefix: string | undefined
  /**
   * Resolves once the backend is reachable (and, for PostgreSQL, migrated); rejects with
   * `AFTERWARD_BROKER_UNAVAILABLE` otherwise. A failed attempt is retried on the next call.
   * Returns nothing when the backend is known to be ready, so that enqueues need not wait.
   */
  connect(): Promise<void> | undefined
  /** The binding shared by every producer `Queue` of the driver. Connects first. */
  producer(): Promise<BullBinding>
  /** A fresh binding for a worker or an events listener. Connects first. */
  dedicated(role: 'worker' | 'events'): Promise<BullBinding>
  /**
   * Holds the producer's writes until the end of this event-loop turn, so that the enqueues of
   * one turn leave in one write (optional: a backend without it sends each as it comes).
   */
  holdWrites?(): void
  /** Adds the records that carry a request id to the request index. */
  recordRequest(records: readonly JobRecord[]): Promise<void>
  /** The jobs recorded for a request id, in no particular order. */
  requestMembers(requestId: string): Promise<RequestMember[]>
  /** Adds queue names to the registry (names already known to this process cost nothing). */
  rememberQueues(names: readonly string[]): Promise<void>
  /** Every queue name any process has used with this backend. */
  queues(): Promise<string[]>
  /**
   * The schedule generation registry: numbers a schedule-set fingerprint not seen before (or,
   * with `force`, one that is not the newest) with the next generation, atomically.
   */
  scheduleGeneration(
    fingerprint: string,
    force: boolean,
  ): Promise<{ generation: number; newest: number }>
  /** Runs `fn` holding the namespace's schedule lock (across processes). */
  scheduleLock<T>(fn: () => Promise<T>): Promise<T>
  /** Records the job id of a schedule's last run (`slot`: queue and schedule key). */
  recordRun(slot: string, jobId: string): Promise<void>
  /** The job ids of the schedules' last runs, in the order of `slots`. */
  lastRuns(slots: readonly string[]): Promise<(string | undefined)[]>
  /** Enforces task limits on this backend, through the store's own connection. */
  readonly limiter: Limiter
  /** Releases the store's connections and every binding not yet released. */
  close(): Promise<void>
}
