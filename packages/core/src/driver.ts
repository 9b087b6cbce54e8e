// The driver interface: a `Driver` assembled from its capabilities, each in its own module
// (records, producer, delivery, inspector, scheduler, limiter). Everything is re-exported here,
// so that the rest of the code imports the driver interface from one place.
import type { Delivery } from './driver-delivery.js'
import type { Inspector, Operator } from './driver-inspector.js'
import type { Limiter } from './driver-limiter.js'
import type { Producer, TransactionalOutbox } from './driver-producer.js'
import type { Scheduler } from './driver-scheduler.js'

export type {
  AttemptError,
  DeliveredJob,
  JobDetail,
  JobInfo,
  JobRecord,
  JobSchedule,
  JobState,
  QueueState,
} from './driver-records.js'
export type {
  EnqueueResult,
  GiveUpSignal,
  Producer,
  TransactionalOutbox,
} from './driver-producer.js'
export type {
  AttemptEnd,
  ConsumeOptions,
  Consumer,
  Delivery,
  StallOptions,
} from './driver-delivery.js'
export { RequeueJob } from './driver-delivery.js'
export type {
  Inspector,
  JobCounts,
  JobCountsQuery,
  JobListPage,
  JobListQuery,
  Operator,
  QueueJobCounts,
} from './driver-inspector.js'
export type {
  ScheduleInfo,
  ScheduleRecord,
  ScheduleState,
  Scheduler,
  StoredSchedule,
} from './driver-scheduler.js'
export type { LimitDecision, LimitRequest, Limiter } from './driver-limiter.js'

/**
 * A complete driver: a producer, an inspector, a delivery and an operator, with an optional
 * scheduler.
 * `memory()` and `bullmq()` return one; a driver owns its connections and exposes no
 * connection type. Code that needs one side only takes that capability (`Producer`,
 * `Inspector`, `Delivery`, `Operator`), which any driver is.
 *
 * @example
 * const driver: Driver = process.env.REDIS_URL ? bullmq({ connection: process.env.REDIS_URL }) : memory()
 * createAfterward({ tasks, driver })
 */
export interface Driver extends Producer, Inspector, Delivery, Operator {
  /** `memory` or `bullmq`, for logs. */
  readonly name: string
  /** Whether stored jobs survive the process. */
  readonly durable: boolean
  /** Present when the driver can run schedules (see `Scheduler`). @defaultValue undefined */
  readonly scheduler?: Scheduler
  /** Present when the driver can enforce task limits (see `Limiter`). @defaultValue undefined */
  readonly limiter?: Limiter
  /**
   * Present when jobs can be written inside a database transaction (see `TransactionalOutbox`):
   * `afterward.deferIn(tx, ...)` needs it. @defaultValue undefined
   */
  readonly outbox?: TransactionalOutbox
  /** Releases connections. Consumers must be closed first. */
  close(): Promise<void>
}
