export { createAfterward } from './afterward.js'
export type { Afterward, AfterwardOptions, WaitOptions } from './afterward.js'
export { defineTask } from './task.js'
export type {
  AfterwardRegister,
  AnyTask,
  DeferArgs,
  DeferFn,
  DeferInFn,
  DeferredJob,
  JobMeta,
  RegisteredContext,
  Task,
  TaskContext,
  TaskInput,
  TaskOptions,
  TaskSchedule,
} from './task.js'
export type { OverlapPolicy, ScheduleOptions, ScheduleSpec } from './schedule.js'
export type { ScheduleSyncOptions, ScheduleSyncResult } from './schedule-sync.js'
export { DeferScope } from './defer-scope.js'
export type { DeferScopeOptions, DeferScopeState } from './defer-scope.js'
export { AFTERWARD_EVENTS } from './events.js'
export { QUEUE_STATES } from './job-list.js'
export type { AfterwardEventName, AfterwardEvents, AfterwardListener, JobEvent } from './events.js'

export type { Instrumentation, TraceCarrier } from './instrumentation.js'
export type { JobOptions, RetryOptions, BackoffOptions, Priority } from './options.js'
export { backoffDelay } from './options.js'
export { Worker } from './worker.js'
export type { WorkerOptions } from './worker-options.js'
export type {
  AcquireInfo,
  ContextProvider,
  ContextProviders,
  InferContext,
  SetupInfo,
  TaskOutcome,
} from './context.js'
export type {
  Consumer,
  ConsumeOptions,
  AttemptEnd,
  DeliveredJob,
  Delivery,
  Driver,
  EnqueueResult,
  GiveUpSignal,
  Inspector,
  AttemptError,
  JobCounts,
  JobCountsQuery,
  JobDetail,
  JobInfo,
  JobListPage,
  JobListQuery,
  JobRecord,
  JobState,
  LimitDecision,
  Limiter,
  LimitRequest,
  Operator,
  Producer,
  QueueJobCounts,
  JobSchedule,
  QueueState,
  ScheduleInfo,
  ScheduleRecord,
  ScheduleState,
  Scheduler,
  StoredSchedule,
  TransactionalOutbox,
} from './driver.js'
export { RequeueJob } from './driver.js'
export {
  AfterwardEnqueueError,
  AfterwardError,
  AfterwardInputError,
  ErrorCode,
  PermanentError,
  RetryAfterError,
} from './errors.js'
export type { ConcurrencyLimit, RateLimit } from './limits.js'
export type { JsonValue } from './json.js'
export { REDACTED, redactInput } from './redact.js'
export type { Redact } from './redact.js'
export { memory } from './drivers/memory.js'
export type { MemoryDriver, MemoryDriverOptions } from './drivers/memory.js'
// Also exported by '@afterward/core/bullmq', the entry that apps on memory() leave out: the
// root re-exports it for compatibility, so importing the root loads the driver's modules.
export { bullmq, migrateBullmqPostgres } from './bullmq.js'
export type {
  BullmqDriverOptions,
  PostgresConnection,
  RedisClusterConnection,
  RedisConnection,
} from './bullmq.js'
// The HTTP adapters' building blocks; adapters import them from '@afterward/core/http'.
export {
  checkAdapterOptions,
  createFlushStats,
  enqueueFailureBody,
  requestIdFrom,
  settleAfterResponse,
  settleScope,
  traceFrom,
} from './http/index.js'
export type { FlushMode, FlushStats, HttpAdapterOptions } from './http/index.js'
