import type {
  AttemptError,
  DeliveredJob,
  JobDetail,
  JobInfo,
  JobRecord,
  JobState,
} from '../../driver.js'
import type { ResolvedJobOptions } from '../../options.js'
import { AfterwardError } from '../../errors.js'
import type { OverlapPolicy } from '../../schedule.js'
import { BUILTIN_DEFAULTS, PRIORITY_RANK, type Priority } from '../../options.js'

/**
 * What Afterward stores in a BullMQ job's `data` (the job's `name` is the task name). Options
 * that BullMQ holds itself (attempts, priority, delay, queue, timestamp) are not repeated: each
 * byte is packed on every add and parsed again by BullMQ's script in Redis.
 */
export interface StoredData {
  input: unknown
  requestId?: string | undefined
  options: StoredOptions
  trace?: Record<string, string> | undefined
  /** Runs that a limit held back or that asked to wait (`ctx.retryAfter`): not cut-off runs. */
  held?: number
  /** Set in the template of a job scheduler that Afterward created, and so in its jobs. */
  schedule?: ScheduleMark | undefined
}

/** How Afterward marks its own job schedulers (never another application's). */
export interface ScheduleMark {
  by: 'afterward'
  /** The schedule's id within its task. */
  id: string
  /** The hash of the schedule's definition, to tell a changed schedule. */
  hash: string
  overlap: OverlapPolicy
}

/** The job options BullMQ has no field for; `backoff` only when the job may retry. */
export interface StoredOptions {
  backoff?: ResolvedJobOptions['backoff']
  timeout?: number | undefined
  key?: string | undefined
}

/** The slice of a BullMQ `Job` read here, typed structurally so no BullMQ type leaks. */
export interface BullJobLike {
  id?: string | undefined
  name: string
  data: StoredData
  opts: { attempts?: number | undefined }
  priority: number
  delay: number
  attemptsMade: number
  /** Times the job was taken by a worker (BullMQ's `ats`), cut-off runs included. */
  attemptsStarted?: number | undefined
  failedReason: string | undefined
  /** The stack of each failed attempt, oldest first (`failureStack` of its error). */
  stacktrace?: string[] | null | undefined
  processedOn?: number | undefined
  finishedOn?: number | undefined
  timestamp: number
  queueName: string
  /** The job scheduler that created the job, if one did. */
  repeatJobKey?: string | undefined
}

/** The schedule and tick of a job made by one of Afterward's job schedulers. */
function scheduleOf(job: BullJobLike): { id: string; tick: number } | undefined {
  const mark = job.data.schedule
  if (mark?.by !== 'afterward' || !job.repeatJobKey || !job.id) return undefined
  // BullMQ names each run `repeat:<scheduler id>:<tick in ms>`.
  return { id: mark.id, tick: Number(job.id.slice(job.id.lastIndexOf(':') + 1)) }
}

const PRIORITY_OF_RANK = Object.fromEntries(
  Object.entries(PRIORITY_RANK).map(([priority, rank]) => [rank, priority]),
) as Record<number, Priority>

/** The backoff of a job that never retries (none is stored): shared, not copied per job. */
const DEFAULT_BACKOFF: ResolvedJobOptions['backoff'] = Object.freeze({
  ...BUILTIN_DEFAULTS.backoff,
})

/** The job's resolved options, from its stored options and BullMQ's own fields. */
export function optionsOf(job: BullJobLike): ResolvedJobOptions {
  const stored = job.data.options
  return {
    // BullMQ reads back a missing `attempts` as 0.
    attempts: job.opts.attempts || 1,
    backoff: stored.backoff ?? DEFAULT_BACKOFF,
    timeout: stored.timeout,
    delay: job.delay ?? 0,
    priority: PRIORITY_OF_RANK[job.priority] ?? BUILTIN_DEFAULTS.priority,
    key: stored.key,
    queue: job.queueName,
  }
}

/** Name of the custom backoff type; the worker's strategy computes it from `data.options`. */
export const BACKOFF_TYPE = 'afterward'

export function toBullJob(record: JobRecord): {
  name: string
  data: StoredData
  opts: Record<string, unknown>
} {
  const o = record.options
  return {
    name: record.task,
    data: {
      input: record.input,
      requestId: record.requestId,
      // The optional field last: spread first, then more properties, is V8's slow path.
      options: {
        timeout: o.timeout,
        key: o.key,
        ...(o.attempts === 1 ? {} : { backoff: o.backoff }),
      },
      trace: record.trace,
    },
    // Only what differs from BullMQ's defaults: every field here is packed on each add and
    // unpacked and stored again by the add script in Redis.
    opts: {
      jobId: record.id,
      priority: PRIORITY_RANK[o.priority],
      timestamp: record.createdAt,
      // Without retries, BullMQ needs neither the attempts nor a backoff.
      ...(o.attempts === 1 ? {} : { attempts: o.attempts, backoff: { type: BACKOFF_TYPE } }),
      // BullMQ counts the delay from `timestamp`, the defer time: no correction for the wait.
      ...(o.delay === 0 ? {} : { delay: o.delay }),
      // Dedup is per task and key while the job is live; BullMQ frees the key when it finishes.
      ...(o.key === undefined ? {} : { deduplication: { id: `${record.task}:${o.key}` } }),
    },
  }
}

/**
 * Whether a job's data is Afterward's envelope. Another program (or an old bug, or someone with
 * access to Redis) may write other data to the same queue; such a job cannot be read at all.
 */
export function isStoredData(data: unknown): data is StoredData {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false
  const { options } = data as { options?: unknown }
  return typeof options === 'object' && options !== null && !Array.isArray(options)
}

export function toDelivered(job: BullJobLike): DeliveredJob {
  return {
    id: job.id!,
    task: job.name,
    input: job.data.input,
    requestId: job.data.requestId,
    createdAt: job.timestamp,
    options: optionsOf(job),
    trace: job.data.trace,
    attempt: job.attemptsMade + 1,
    // Taken more often than attempts were made: a run before this one was cut off.
    redelivered: (job.attemptsStarted ?? 0) > job.attemptsMade + 1 + (job.data.held ?? 0),
    schedule: scheduleOf(job),
  }
}

/**
 * The message BullMQ stores for a failed attempt. BullMQ keeps only the message, so an
 * Afterward error's code travels in front of it and is split off again by `parseFailure`.
 */
export function failureMessage(error: Error): string {
  return error instanceof AfterwardError ? `[${error.code}] ${error.message}` : error.message
}

/**
 * The stack BullMQ keeps for a failed attempt: the error's own, with an Afterward error's code
 * put in front of the message in its first line, so that `parseStack` finds both again.
 */
export function failureStack(error: Error): string | undefined {
  const { stack } = error
  if (stack === undefined || !(error instanceof AfterwardError)) return stack
  const header = `${error.name}: ${error.message}`
  if (!stack.startsWith(header)) return stack
  return `${error.name}: [${error.code}] ${error.message}${stack.slice(header.length)}`
}

/** A failed attempt's message, code and stack, from the stack BullMQ kept for it. */
export function parseStack(stack: string): AttemptError {
  const lines = stack.split('\n')
  const frames = lines.findIndex((line) => /^\s+at /.test(line))
  const header = (frames < 0 ? lines : lines.slice(0, frames)).join('\n')
  // V8 writes `${name}: ${message}`, or the name alone for an empty message.
  const colon = header.indexOf(': ')
  const failure = parseFailure(colon < 0 ? '' : header.slice(colon + 2))
  const code = failure?.code
  // The stack as the error had it: the code goes back out of its first line.
  const own = code === undefined ? stack : stack.replace(`[${code}] `, '')
  return { message: failure?.message ?? '', code, stack: own }
}

export function parseFailure(reason: string | undefined): JobInfo['lastError'] {
  if (!reason) return undefined
  const match = /^\[(AFTERWARD_[A-Z_]+)\] ([\s\S]*)$/.exec(reason)
  return match ? { code: match[1], message: match[2]! } : { code: undefined, message: reason }
}

const STATES: Record<string, JobState> = {
  waiting: 'waiting',
  prioritized: 'waiting',
  'waiting-children': 'waiting',
  delayed: 'delayed',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
}

export function toInfo(job: BullJobLike, bullState: string): JobInfo | undefined {
  const state = STATES[bullState]
  if (!state || !job.id || !job.data?.options) return undefined
  const finished = state === 'completed' || state === 'failed'
  return {
    id: job.id,
    task: job.name,
    queue: job.queueName,
    state,
    input: job.data.input,
    requestId: job.data.requestId,
    key: job.data.options.key,
    // BullMQ counts an attempt when it finishes; count the running one too, as memory() does.
    attemptsMade: job.attemptsMade + (state === 'active' ? 1 : 0),
    maxAttempts: job.opts.attempts || 1,
    lastError: parseFailure(job.failedReason),
    createdAt: new Date(job.timestamp),
    startedAt: job.processedOn ? new Date(job.processedOn) : undefined,
    finishedAt: finished && job.finishedOn ? new Date(job.finishedOn) : undefined,
    schedule: toScheduleInfo(scheduleOf(job)),
  }
}

export function toDetail(job: BullJobLike, bullState: string): JobDetail | undefined {
  const info = toInfo(job, bullState)
  return info && { ...info, errors: (job.stacktrace ?? []).map(parseStack) }
}

function toScheduleInfo(schedule: { id: string; tick: number } | undefined): JobInfo['schedule'] {
  return schedule && { id: schedule.id, tick: new Date(schedule.tick) }
}
