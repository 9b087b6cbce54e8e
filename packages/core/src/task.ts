import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { Logger } from 'pino'
import type { JobOptions, Priority, RetryOptions } from './options.js'
import { AfterwardError, ErrorCode } from './errors.js'
import { checkQueueName } from './options.js'
import { checkSchedules, type ScheduleOptions, type ScheduleSpec } from './schedule.js'
import { checkLimits, type ConcurrencyLimit, type RateLimit } from './limits.js'

/**
 * Declaration-merging hook that types `ctx` in every task from your context providers.
 *
 * @example
 * declare module '@afterward/core' {
 *   interface AfterwardRegister { context: { db: PrismaClient } }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AfterwardRegister {}

/** The context values registered through `AfterwardRegister`, or an open record. */
export type RegisteredContext = AfterwardRegister extends { context: infer C }
  ? C
  : Record<string, unknown>

/** What a running task knows about its job. */
export interface JobMeta {
  id: string
  task: string
  queue: string
  /** 1 for the first attempt. A run cut off by a crash or a shutdown does not count. */
  attempt: number
  /** Attempts allowed in total. */
  attempts: number
  /**
   * True when an earlier run of this attempt was cut off (its worker crashed, lost its lock, or
   * shut down past its grace period), so some of its effects may already exist.
   */
  redelivered: boolean
  /** Id of the request (or parent job's request) that deferred this job. */
  requestId: string | undefined
  key: string | undefined
  createdAt: Date
  /**
   * When this attempt started: for a task with a `limit` or `rate`, the time its limits let it
   * start, on the limiter's clock (Redis or PostgreSQL server time with bullmq()).
   */
  startedAt: Date
  /** W3C trace context carried from the request (`traceparent`, `tracestate`), if any. */
  trace: Record<string, string> | undefined
  /** Set when a schedule created the job: the schedule's id and the tick this run is for. */
  schedule: { id: string; tick: Date } | undefined
}

/** `ctx.defer` and a scope's `defer`: buffer a job, get its id at once. */
export type DeferFn = <T extends AnyTask>(task: T, ...args: DeferArgs<T>) => DeferredJob

/**
 * `deferIn(tx, task, input, options?)`: checks a job like `defer` and writes it inside the
 * database transaction `tx`, through the driver's outbox; resolves once written.
 *
 * @example
 * await prisma.$transaction(async (tx) => {
 *   await reply.deferIn(tx, sendReceipt, { orderId: 7 }) // reply.deferIn: DeferInFn
 * })
 */
export type DeferInFn = <T extends AnyTask>(
  tx: unknown,
  task: T,
  ...args: DeferArgs<T>
) => Promise<DeferredJob>

/**
 * The arguments after the task in `defer`/`enqueue`: its input (optional when the task takes
 * none), then job options.
 */
export type DeferArgs<T extends AnyTask> =
  undefined extends TaskInput<T>
    ? [input?: TaskInput<T>, options?: JobOptions]
    : [input: TaskInput<T>, options?: JobOptions]

/** Returned by `defer` at once, before anything is stored. */
export interface DeferredJob {
  /** The job id; `afterward.jobs.get(id)` finds the job once the scope has flushed. */
  readonly id: string
}

/** The second argument of a task's `run`. */
export type TaskContext<C = RegisteredContext> = C & {
  job: JobMeta
  /** Aborts at the task's `timeout`, or when the worker shuts down past its grace period. */
  signal: AbortSignal
  /** pino child logger bound to job id, task, attempt and request id. */
  log: Logger
  /** Defers a follow-up job, enqueued only if this task succeeds. */
  defer: DeferFn
  /**
   * Ends this run and runs the job again in `ms`, without spending an attempt (an upstream
   * answered 429). Throws a `RetryAfterError`; `throw new RetryAfterError(ms)` does the same.
   */
  retryAfter(ms: number): never
}

/**
 * Job options set on a task's definition: above `createAfterward({ defaults })`, below a route's
 * options and the call site's. A field left out falls through to the level below.
 *
 * @example
 * defineTask({ name: 'resize', retry: { attempts: 3 }, timeout: 10_000, queue: 'images', run })
 */
export interface TaskOptions {
  /**
   * Retry policy, merged field by field with the levels below.
   * @defaultValue `defaults.retry`, else 1 attempt (no retry)
   */
  retry?: RetryOptions
  /**
   * Deadline of one attempt in ms; `ctx.signal` aborts then.
   * @defaultValue `defaults.timeout`, else none
   */
  timeout?: number
  /**
   * Queue of the task's jobs; a worker takes the queues of its registered tasks.
   * @defaultValue `defaults.queue`, else 'default'
   */
  queue?: string
  /**
   * See `Priority` for what each level means.
   * @defaultValue `defaults.priority`, else 'normal'
   */
  priority?: Priority
}

interface TaskDefinitionBase<O, C> extends TaskOptions {
  /** Unique name; it is stored with each job, so renaming a task strands its queued jobs. */
  name: string
  /** Jobs of this task running at once across every worker, per task or per key. @defaultValue no limit */
  limit?: ConcurrencyLimit<O>
  /** Jobs of this task starting per window across every worker, per task or per key. @defaultValue no limit */
  rate?: RateLimit<O>
  /** The task's work. Annotate `ctx: TaskContext<MyContext>` to type the context values. */
  run(input: O, ctx: TaskContext<C>): unknown
}

/**
 * `schedule` of `defineTask`: one schedule, or several with an `id` each.
 *
 * @example
 * const schedule: TaskSchedule<{ period: string }> = [
 *   { id: 'daily', cron: '0 7 * * *', input: { period: 'day' } },
 *   { id: 'weekly', cron: '0 7 * * 1', input: { period: 'week' } },
 * ]
 */
export type TaskSchedule<I> = ScheduleOptions<I> | readonly ScheduleOptions<I>[]

/** A task, as returned by `defineTask`. `I` is what `defer` accepts, `O` what `run` receives. */
export interface Task<I = unknown, O = I> extends TaskOptions {
  readonly name: string
  readonly input: StandardSchemaV1<I, O> | undefined
  /** The task's schedules, checked, with defaults applied; empty when it has none. */
  readonly schedules: readonly ScheduleSpec[]
  readonly limit?: ConcurrencyLimit<O>
  readonly rate?: RateLimit<O>
  run(input: O, ctx: TaskContext): unknown
  /** Type carrier only; never set at run time. */
  readonly '~types'?: { input: I; output: O }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = Task<any, any>

/** What `defer(task, input)` accepts for `task`. */
export type TaskInput<T extends AnyTask> = NonNullable<T['~types']>['input']

/**
 * Defines a task. Give `input` any Standard Schema validator (zod, valibot, arktype...) to type
 * and check the input; without one, the input type comes from `run`'s parameter and is only
 * checked to be plain JSON.
 *
 * @example
 * export const sendWelcomeEmail = defineTask({
 *   name: 'send-welcome-email',
 *   input: z.object({ userId: z.number() }),
 *   retry: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 } },
 *   timeout: 30_000,
 *   async run(input, ctx) { ctx.log.info({ userId: input.userId }, 'sending') },
 * })
 */
export function defineTask<S extends StandardSchemaV1, C = RegisteredContext>(
  definition: TaskDefinitionBase<StandardSchemaV1.InferOutput<S>, C> & {
    input: S
    /** Run on a schedule: `{ cron, tz? }` or `{ every }`, or several with ids. @defaultValue none */
    schedule?: TaskSchedule<StandardSchemaV1.InferInput<S>>
  },
): Task<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>>
export function defineTask<I = void, C = RegisteredContext>(
  definition: TaskDefinitionBase<I, C> & { input?: undefined; schedule?: TaskSchedule<NoInfer<I>> },
): Task<I, I>
export function defineTask(
  definition: TaskDefinitionBase<unknown, unknown> & {
    input?: StandardSchemaV1
    schedule?: TaskSchedule<unknown>
  },
): AnyTask {
  const { name, input, run } = definition
  if (typeof name !== 'string' || !/^[\w.:-]{1,200}$/.test(name)) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `defineTask: name must be 1-200 characters of letters, digits, '_', '.', ':' or '-' (got ${JSON.stringify(name)}).`,
    )
  }
  if (typeof run !== 'function') {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `defineTask('${name}'): run must be a function.`,
    )
  }
  if (input !== undefined && typeof input?.['~standard']?.validate !== 'function') {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `defineTask('${name}'): input must be a Standard Schema validator (zod, valibot, arktype...).`,
    )
  }
  if (definition.queue !== undefined) checkQueueName(definition.queue)
  checkLimits(name, definition.limit, definition.rate)
  const schedules = Object.freeze(checkSchedules(name, definition.schedule, input))
  return Object.freeze({ ...definition, input, schedules })
}
