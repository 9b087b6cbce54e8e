// What every driver's `list` and `counts` share: the query check, the order (newest first) and
// the cursor, so that paging means the same on every driver.
import type {
  JobCounts,
  JobCountsQuery,
  JobInfo,
  JobListPage,
  JobListQuery,
  QueueState,
} from './driver.js'
import { AfterwardError, ErrorCode } from './errors.js'
import { checkQueueName } from './options.js'

/**
 * Every state a stored job can be in, in the order `jobs.counts`, the CLI and the dashboard show
 * them.
 */
export const QUEUE_STATES: readonly QueueState[] = Object.freeze([
  'waiting',
  'delayed',
  'active',
  'completed',
  'failed',
])

/** A job's place in the order of `jobs.list`: newest `createdAt` first, then the higher id. */
export interface ListPosition {
  createdAt: number
  id: string
}

/** A `JobListQuery` checked, with its defaults applied. */
export interface ListFilter {
  states: ReadonlySet<QueueState>
  task: string | undefined
  queue: string | undefined
  limit: number
  /** Only jobs after this position (the last job of the previous page). */
  after: ListPosition | undefined
}

const LIST_FIELDS = new Set(['state', 'task', 'queue', 'limit', 'cursor'])
export const DEFAULT_LIST_LIMIT = 50
export const MAX_LIST_LIMIT = 1_000

/** Checks a `jobs.list` query; a bad one throws `AFTERWARD_OPTIONS_INVALID`. */
export function listFilter(query: JobListQuery | undefined): ListFilter {
  if (query === undefined) query = {}
  if (query === null || typeof query !== 'object')
    invalid('pass an object, e.g. { state: "failed" }')
  for (const field of Object.keys(query)) {
    if (!LIST_FIELDS.has(field)) {
      invalid(`unknown field '${field}' (fields: ${[...LIST_FIELDS].join(', ')})`)
    }
  }
  const { state, task, queue, limit = DEFAULT_LIST_LIMIT, cursor } = query
  const states = state === undefined ? QUEUE_STATES : typeof state === 'string' ? [state] : state
  if (!Array.isArray(states) || states.length === 0 || !states.every(isState)) {
    invalid(
      `state must be one of ${QUEUE_STATES.join(', ')}, or a non-empty array of them (got ${JSON.stringify(state)})`,
    )
  }
  if (task !== undefined && (typeof task !== 'string' || task === '')) {
    invalid(`task must be a task name (got ${JSON.stringify(task)})`)
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    const got = typeof limit === 'number' ? String(limit) : JSON.stringify(limit)
    invalid(`limit must be an integer from 1 to ${MAX_LIST_LIMIT} (got ${got})`)
  }
  return {
    states: new Set(states),
    task,
    queue: checkQueue(queue),
    limit,
    after: cursor === undefined ? undefined : decodeCursor(cursor),
  }
}

/** Checks a `jobs.counts` query; returns the one queue it asks for, if any. */
export function countsQueue(query: JobCountsQuery | undefined): string | undefined {
  if (query === undefined) return undefined
  if (query === null || typeof query !== 'object')
    invalid('pass an object, e.g. { queue: "emails" }', 'counts')
  for (const field of Object.keys(query)) {
    if (field !== 'queue') invalid(`unknown field '${field}' (fields: queue)`, 'counts')
  }
  return checkQueue(query.queue, 'counts')
}

/** Counts with every state at 0. */
export function zeroCounts(): JobCounts {
  return { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 }
}

/** Whether `job` comes later in the list than `position`. */
export function isAfter(job: ListPosition, position: ListPosition): boolean {
  return (
    job.createdAt < position.createdAt ||
    (job.createdAt === position.createdAt && job.id < position.id)
  )
}

/**
 * The first `limit + 1` jobs of the list among those offered, without sorting them all: enough
 * for one page and to know whether another follows. A job offered again (read twice while it
 * moved between states) replaces its earlier copy.
 */
export class NewestFirst<T extends ListPosition> {
  readonly #kept: T[] = []
  readonly #size: number

  constructor(readonly filter: ListFilter) {
    this.#size = filter.limit + 1
  }

  /** Whether `limit + 1` jobs are kept: a job older than `oldest` cannot enter any more. */
  get full(): boolean {
    return this.#kept.length === this.#size
  }

  /** The last kept job, when full. */
  get oldest(): T | undefined {
    return this.full ? this.#kept[this.#kept.length - 1] : undefined
  }

  offer(job: T): void {
    if (this.filter.after && !isAfter(job, this.filter.after)) return
    const kept = this.#kept
    // Binary search for the first kept job that comes after `job`.
    let lo = 0
    let hi = kept.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (isAfter(kept[mid]!, job)) hi = mid
      else lo = mid + 1
    }
    const previous = kept[lo - 1]
    if (previous && previous.id === job.id && previous.createdAt === job.createdAt) {
      kept[lo - 1] = job
      return
    }
    if (lo === this.#size) return
    kept.splice(lo, 0, job)
    if (kept.length > this.#size) kept.pop()
  }

  /** The page: the first `limit` jobs, and a cursor when more follow. */
  page(toInfo: (kept: T) => JobInfo): JobListPage {
    const jobs = this.#kept.slice(0, this.filter.limit)
    const last = jobs[jobs.length - 1]
    const page: JobListPage = { jobs: jobs.map(toInfo) }
    if (this.#kept.length > this.filter.limit && last) page.next = encodeCursor(last)
    return page
  }
}

function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url')
}

function decodeCursor(cursor: unknown): ListPosition {
  let parsed: unknown
  try {
    parsed =
      typeof cursor === 'string'
        ? JSON.parse(Buffer.from(cursor, 'base64url').toString())
        : undefined
  } catch {
    parsed = undefined
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isFinite(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    invalid(
      `cursor ${JSON.stringify(cursor)} is not one that jobs.list returned; pass the 'next' of the previous page unchanged`,
    )
  }
  return { createdAt: parsed[0] as number, id: parsed[1] }
}

function checkQueue(queue: unknown, method: 'list' | 'counts' = 'list'): string | undefined {
  if (queue === undefined) return undefined
  try {
    checkQueueName(queue)
  } catch {
    invalid(
      `queue must be a queue name: 1-100 letters, digits, '.', '_' or '-' (got ${JSON.stringify(queue)})`,
      method,
    )
  }
  return queue
}

function isState(state: unknown): state is QueueState {
  return QUEUE_STATES.includes(state as QueueState)
}

function invalid(message: string, method: 'list' | 'counts' = 'list'): never {
  throw new AfterwardError(ErrorCode.OPTIONS_INVALID, `Invalid jobs.${method} query: ${message}.`, {
    retryable: false,
  })
}
