import type { Driver, EnqueueResult, GiveUpSignal, JobInfo, JobRecord } from '../driver.js'
import { AfterwardError, ErrorCode } from '../errors.js'
import { countJobs, listJobs } from './memory-list.js'
import { type Entry, dedupKey, detail, info, newEntry, resetForRetry } from './memory-entry.js'
import { jobNotFound, notRemovable, notRetryable } from './error-info.js'
import { Fifo, PriorityLanes } from './memory-lanes.js'
import { MemoryConsumer, type MemoryQueues } from './memory-consumer.js'
import { MemoryScheduler } from './memory-scheduler.js'
import { memoryLimiter } from './memory-limiter.js'

/** Options of `memory()`. */
export interface MemoryDriverOptions {
  /** Finished (completed or failed) jobs kept for inspection; the oldest go first. @defaultValue 10_000 */
  keepFinished?: number
}

/** The in-memory driver; `drain()` is its addition to the `Driver` interface. */
export interface MemoryDriver extends Driver {
  /**
   * Resolves when no job is waiting, delayed or running (a schedule's next run, planned and not
   * due yet, does not count). Rejects at once when jobs wait in a queue that no started worker
   * takes, and after `timeout` ms (default 30 s).
   */
  drain(options?: { timeout?: number }): Promise<void>
}

/**
 * In-process driver with the same semantics as `bullmq()` (retries, backoff, delay, priority,
 * dedup keys, timeouts, inspection) and no durability: jobs live only as long as the process.
 * For development, tests and demos.
 *
 * @example
 * const driver = memory()
 * const afterward = createAfterward({ tasks, driver })
 * await afterward.worker().start()
 * await driver.drain()
 */
export function memory(options: MemoryDriverOptions = {}): MemoryDriver {
  const keepFinished = options.keepFinished ?? 10_000
  const jobs = new Map<string, Entry>()
  const waiting = new Map<string, PriorityLanes<Entry>>()
  const liveKeys = new Map<string, string>() // dedup key -> job id
  // Job ids by request id, in defer order; an array, not a Set: most requests defer one or a few.
  const byRequest = new Map<string, string[]>()
  const finished = new Fifo<string>() // ids, oldest first, for keepFinished
  const consumers = new Set<MemoryConsumer>()
  const finishWaiters = new Map<string, Set<() => void>>() // job id -> waitFor callbacks
  const idleWaiters = new Set<() => void>() // drain() callbacks
  // Jobs waiting, delayed or active: drain() is done when it is 0, without a scan of `jobs`.
  let unfinished = 0
  let seq = 0
  let closed = false

  function lanesOf(queue: string): PriorityLanes<Entry> {
    let lanes = waiting.get(queue)
    if (!lanes) waiting.set(queue, (lanes = new PriorityLanes<Entry>()))
    return lanes
  }

  /** Queues the entry; `dispatch` is left to callers that add many at once. */
  function makeWaiting(entry: Entry, dispatchNow = true): void {
    if (entry.planned) {
      entry.planned = false
      unfinished++
    }
    entry.state = 'waiting'
    entry.timer = undefined
    lanesOf(entry.record.options.queue).push(entry, entry.record.options.priority)
    if (dispatchNow) dispatch()
  }

  /** Returns whether the entry is waiting now (rather than delayed). */
  function schedule(entry: Entry, delay: number, dispatchNow = true): boolean {
    if (delay <= 0) {
      makeWaiting(entry, dispatchNow)
      return true
    }
    entry.state = 'delayed'
    entry.timer = setTimeout(() => makeWaiting(entry), delay)
    return false
  }

  function finish(entry: Entry, state: 'completed' | 'failed'): void {
    entry.state = state
    entry.finishedAt = Date.now()
    const key = dedupKey(entry.record)
    if (key !== undefined && liveKeys.get(key) === entry.record.id) liveKeys.delete(key)
    finished.push(entry.record.id)
    while (finished.size > keepFinished) forget(finished.shift()!)
    retire(entry)
  }

  /** The entry is no longer live: wakes its `waitFor` callers, and `drain` once none is. */
  function retire(entry: Entry): void {
    const waiters = finishWaiters.get(entry.record.id)
    if (waiters) {
      finishWaiters.delete(entry.record.id)
      for (const done of waiters) done()
    }
    if (!entry.planned) settle()
  }

  /** One job fewer waiting, delayed or active. */
  function settle(): void {
    if (--unfinished === 0) {
      for (const done of idleWaiters) done()
      idleWaiters.clear()
    }
  }

  function forget(id: string): void {
    const entry = jobs.get(id)
    if (!entry) return
    jobs.delete(id)
    const requestId = entry.record.requestId
    if (requestId !== undefined) {
      const ids = byRequest.get(requestId)
      // Jobs are forgotten oldest first: the id is nearly always the first of its request.
      const at = ids ? ids.indexOf(id) : -1
      if (at >= 0) ids!.splice(at, 1)
      if (ids?.length === 0) byRequest.delete(requestId)
    }
  }

  function dispatch(): void {
    for (const consumer of consumers) consumer.pull()
  }

  /** Stores one record; returns whether it is waiting now (rather than delayed). */
  function store(record: JobRecord, now: number): boolean {
    // Records are handed over (see Driver.enqueue): stored as they are, not copied.
    const entry = newEntry(record, seq++)
    jobs.set(record.id, entry)
    const delay = record.options.delay - (now - record.createdAt)
    // A schedule's next run is always planned: drain() waits only for runs that are due.
    if (record.schedule !== undefined && delay > 0) entry.planned = true
    else unfinished++
    if (record.requestId !== undefined) {
      const ids = byRequest.get(record.requestId)
      if (ids) ids.push(record.id)
      else byRequest.set(record.requestId, [record.id])
    }
    return schedule(entry, delay, false)
  }

  const scheduler = new MemoryScheduler({
    add(record) {
      if (closed || jobs.has(record.id)) return
      if (store(record, Date.now())) dispatch()
    },
    cancel(id) {
      const entry = jobs.get(id)
      if (entry?.state !== 'delayed' && entry?.state !== 'waiting') return false
      clearTimeout(entry.timer)
      // A waiting entry stays in its lane until a consumer reaches it and drops it.
      entry.cancelled = true
      jobs.delete(id)
      if (!entry.planned) settle()
      return true
    },
    get: (id) => jobs.get(id),
    all: () => jobs.values(),
  })

  const queues: MemoryQueues = {
    waiting,
    consumers,
    finish,
    makeWaiting,
    schedule,
    started: (record) => scheduler.started(record),
  }

  return {
    name: 'memory',
    durable: false,
    scheduler,
    limiter: memoryLimiter(),

    async enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]> {
      if (closed) throw new AfterwardError(ErrorCode.CLOSED, 'The memory driver is closed.')
      await Promise.resolve() // stored asynchronously, like a broker
      if (signal?.aborted) throw new AfterwardError(ErrorCode.ENQUEUE_FAILED, 'Enqueue abandoned.')
      const now = Date.now()
      let queued = false
      const results = records.map((record): EnqueueResult => {
        const key = dedupKey(record)
        const live = key === undefined ? undefined : liveKeys.get(key)
        if (live !== undefined) return { id: live, deduplicated: true }
        if (key !== undefined) liveKeys.set(key, record.id)
        // One dispatch for the whole batch, so that its high jobs go before its normal ones.
        if (store(record, now)) queued = true
        return { id: record.id, deduplicated: false }
      })
      if (queued) dispatch()
      return results
    },

    get(id) {
      const entry = jobs.get(id)
      return Promise.resolve(entry && info(entry))
    },

    detail(id) {
      const entry = jobs.get(id)
      return Promise.resolve(entry && detail(entry))
    },

    byRequest(requestId) {
      const ids = byRequest.get(requestId) ?? []
      return Promise.resolve(ids.map((id) => info(jobs.get(id)!)))
    },

    waitFor(id, timeoutMs) {
      return new Promise<JobInfo>((resolve, reject) => {
        const entry = jobs.get(id)
        if (!entry)
          return reject(
            new AfterwardError(
              ErrorCode.JOB_NOT_FOUND,
              `No job with id '${id}' (never stored, or removed after its retention period).`,
            ),
          )
        if (entry.state === 'completed' || entry.state === 'failed') return resolve(info(entry))
        const waiters = finishWaiters.get(id) ?? new Set<() => void>()
        finishWaiters.set(id, waiters)
        const timer = setTimeout(() => {
          waiters.delete(done)
          if (waiters.size === 0 && finishWaiters.get(id) === waiters) finishWaiters.delete(id)
          reject(
            new AfterwardError(
              ErrorCode.WAIT_TIMEOUT,
              `Job '${id}' did not finish within ${timeoutMs} ms (state: ${entry.state}).`,
            ),
          )
        }, timeoutMs)
        const done = (): void => {
          clearTimeout(timer)
          if (jobs.get(id) === entry) resolve(info(entry))
          else reject(jobNotFound(id)) // removed while waited for
        }
        waiters.add(done)
      })
    },

    list: (query) => Promise.resolve().then(() => listJobs(jobs.values(), query)),

    counts: (query) =>
      Promise.resolve().then(() => countJobs(jobs.values(), waiting.keys(), query)),

    retry(id) {
      return Promise.resolve().then(() => {
        const entry = jobs.get(id)
        if (!entry) throw jobNotFound(id)
        if (entry.state !== 'failed') throw notRetryable(id, entry.state)
        finished.delete(id)
        // As if deferred anew (BullMQ's retry with its attempt counters reset); its dedup key
        // stays free, as BullMQ leaves it.
        resetForRetry(entry)
        unfinished++
        makeWaiting(entry, false)
        const now = info(entry) // waiting: read before a worker takes it
        dispatch()
        return now
      })
    },

    remove(id) {
      return Promise.resolve().then(() => {
        const entry = jobs.get(id)
        if (!entry) throw jobNotFound(id)
        if (entry.state === 'active') throw notRemovable(id)
        const live = entry.state !== 'completed' && entry.state !== 'failed'
        if (!live) finished.delete(id)
        else {
          clearTimeout(entry.timer)
          lanesOf(entry.record.options.queue).delete(entry)
          const key = dedupKey(entry.record)
          if (key !== undefined && liveKeys.get(key) === id) liveKeys.delete(key)
        }
        forget(id)
        if (live) retire(entry) // its waitFor callers hear that it is gone
      })
    },

    consume: (consumeOptions) => new MemoryConsumer(consumeOptions, queues),

    drain(drainOptions = {}) {
      const timeoutMs = drainOptions.timeout ?? 30_000
      return new Promise<void>((resolve, reject) => {
        for (const [queue, lanes] of waiting) {
          const size = lanes.size
          if (size > 0 && ![...consumers].some((c) => c.serves(queue))) {
            return reject(
              new AfterwardError(
                ErrorCode.CONFIG_INVALID,
                `drain(): ${size} job(s) wait in queue '${queue}' and no started worker takes it. Start afterward.worker() first.`,
              ),
            )
          }
        }
        if (unfinished === 0) return resolve()
        const timer = setTimeout(() => {
          idleWaiters.delete(done)
          reject(
            new AfterwardError(
              ErrorCode.WAIT_TIMEOUT,
              `drain(): jobs still pending after ${timeoutMs} ms.`,
            ),
          )
        }, timeoutMs)
        const done = (): void => {
          clearTimeout(timer)
          resolve()
        }
        idleWaiters.add(done)
      })
    },

    close() {
      closed = true
      scheduler.close()
      for (const entry of jobs.values()) clearTimeout(entry.timer)
      return Promise.resolve()
    },
  }
}
