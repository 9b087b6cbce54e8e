import type {
  AttemptError,
  DeliveredJob,
  JobDetail,
  JobInfo,
  JobRecord,
  QueueState,
} from '../driver.js'
import { copyJson } from '../json.js'
import { attemptError, errorInfo } from './error-info.js'

/** One job held by the memory driver. */
export interface Entry {
  record: JobRecord
  state: QueueState
  seq: number
  attemptsMade: number
  /** Attempts started, runs handed back at shutdown included. */
  deliveries: number
  lastError: JobInfo['lastError']
  /** Each failed attempt's error, oldest first (for `detail`). */
  errors: AttemptError[]
  startedAt: number | undefined
  finishedAt: number | undefined
  timer: NodeJS.Timeout | undefined
  /** A schedule's planned run, not due yet: `drain()` does not wait for it. */
  planned?: boolean
  /** Removed before it started (its schedule changed): consumers drop it from their lane. */
  cancelled?: boolean
}

/** A new entry for a record, waiting, with nothing run yet. */
export function newEntry(record: JobRecord, seq: number): Entry {
  return {
    record,
    state: 'waiting',
    seq,
    attemptsMade: 0,
    deliveries: 0,
    lastError: undefined,
    errors: [],
    startedAt: undefined,
    finishedAt: undefined,
    timer: undefined,
  }
}

/** The key that makes a job with a dedup key the only live one of its task and key. */
export function dedupKey(r: JobRecord): string | undefined {
  return r.options.key === undefined
    ? undefined
    : `${r.options.queue}\u0000${r.task}\u0000${r.options.key}`
}

/** Records an attempt's failure: the last error, and the error in the attempts' list. */
export function recordFailure(entry: Entry, error: Error): void {
  entry.lastError = errorInfo(error)
  entry.errors.push(attemptError(error))
}

/** A failed entry as if deferred anew (BullMQ's retry, its attempt counters reset). */
export function resetForRetry(entry: Entry): void {
  entry.attemptsMade = 0
  entry.deliveries = 0
  entry.lastError = undefined
  entry.startedAt = undefined
  entry.finishedAt = undefined
}

/**
 * Marks the entry's next attempt as started and returns the job to hand to the worker, with a
 * private copy of the input: what a task does to it is not stored, as with BullMQ, which reads
 * the job afresh for every attempt.
 */
export function startAttempt(entry: Entry): DeliveredJob {
  entry.state = 'active'
  entry.attemptsMade++
  entry.deliveries++
  entry.startedAt = Date.now()
  const { record } = entry
  return {
    id: record.id,
    task: record.task,
    input: copyJson(record.input),
    requestId: record.requestId,
    createdAt: record.createdAt,
    options: record.options,
    trace: record.trace,
    attempt: entry.attemptsMade,
    redelivered: entry.deliveries > entry.attemptsMade,
    schedule: record.schedule,
  }
}

/** A copy of an entry as `jobs.get` returns it: callers cannot change the stored job. */
export function info(entry: Entry): JobInfo {
  const r = entry.record
  return {
    id: r.id,
    task: r.task,
    queue: r.options.queue,
    state: entry.state,
    input: copyJson(r.input),
    requestId: r.requestId,
    key: r.options.key,
    attemptsMade: entry.attemptsMade,
    maxAttempts: r.options.attempts,
    lastError: entry.lastError,
    createdAt: new Date(r.createdAt),
    startedAt: entry.startedAt === undefined ? undefined : new Date(entry.startedAt),
    finishedAt: entry.finishedAt === undefined ? undefined : new Date(entry.finishedAt),
    schedule: r.schedule && { id: r.schedule.id, tick: new Date(r.schedule.tick) },
  }
}

/** `info` and each failed attempt's error. */
export function detail(entry: Entry): JobDetail {
  return { ...info(entry), errors: entry.errors.map((e) => ({ ...e })) }
}
