import { EventEmitter } from 'node:events'
import type {
  ConsumeOptions,
  Consumer,
  DeliveredJob,
  Driver,
  EnqueueResult,
  GiveUpSignal,
  JobInfo,
  JobRecord,
} from '../driver.js'
import { RequeueJob } from '../driver.js'
import { AfterwardError, ErrorCode, toError } from '../errors.js'
import { PRIORITY_RANK, backoffDelay } from '../options.js'
import { errorInfo } from './error-info.js'
import { type Entry, info } from './memory-entry.js'

/** Options of `memory()`. */
export interface MemoryDriverOptions {
  /** Finished (completed or failed) jobs kept for inspection; the oldest go first. @defaultValue 10_000 */
  keepFinished?: number
}

/** The in-memory driver; `drain()` is its addition to the `Driver` interface. */
export interface MemoryDriver extends Driver {
  /**
   * Resolves when no job is waiting, delayed or running. Rejects at once when jobs wait in a
   * queue that no started worker takes, and after `timeout` ms (default 30 s).
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
  const waiting = new Map<string, Entry[]>() // per queue, sorted by (priority, seq)
  const liveKeys = new Map<string, string>() // dedup key -> job id
  const byRequest = new Map<string, Set<string>>()
  const finished: string[] = []
  const consumers = new Set<MemoryConsumer>()
  const events = new EventEmitter()
  events.setMaxListeners(0)
  let seq = 0
  let closed = false

  const dedupKey = (r: JobRecord): string | undefined =>
    r.options.key === undefined
      ? undefined
      : `${r.options.queue}\u0000${r.task}\u0000${r.options.key}`

  function makeWaiting(entry: Entry): void {
    entry.state = 'waiting'
    entry.timer = undefined
    const list = waiting.get(entry.record.options.queue) ?? []
    waiting.set(entry.record.options.queue, list)
    const rank = PRIORITY_RANK[entry.record.options.priority]
    let i = list.length
    while (i > 0 && PRIORITY_RANK[list[i - 1]!.record.options.priority] > rank) i--
    list.splice(i, 0, entry)
    dispatch()
  }

  function schedule(entry: Entry, delay: number): void {
    if (delay <= 0) return makeWaiting(entry)
    entry.state = 'delayed'
    entry.timer = setTimeout(() => makeWaiting(entry), delay)
  }

  function finish(entry: Entry, state: 'completed' | 'failed'): void {
    entry.state = state
    entry.finishedAt = Date.now()
    const key = dedupKey(entry.record)
    if (key !== undefined && liveKeys.get(key) === entry.record.id) liveKeys.delete(key)
    finished.push(entry.record.id)
    while (finished.length > keepFinished) forget(finished.shift()!)
    events.emit(`finished:${entry.record.id}`)
  }

  function forget(id: string): void {
    const entry = jobs.get(id)
    if (!entry) return
    jobs.delete(id)
    const requestId = entry.record.requestId
    if (requestId !== undefined) {
      const ids = byRequest.get(requestId)
      ids?.delete(id)
      if (ids?.size === 0) byRequest.delete(requestId)
    }
  }

  function idle(): boolean {
    for (const entry of jobs.values()) {
      if (entry.state === 'waiting' || entry.state === 'delayed' || entry.state === 'active')
        return false
    }
    return true
  }

  function dispatch(): void {
    for (const consumer of consumers) consumer.pull()
    if (idle()) events.emit('idle')
  }

  class MemoryConsumer implements Consumer {
    #running = false
    readonly #active = new Set<Promise<void>>()
    readonly #perQueue = new Map<string, number>()
    constructor(readonly options: ConsumeOptions) {}

    start(): Promise<void> {
      this.#running = true
      consumers.add(this)
      queueMicrotask(() => this.pull())
      return Promise.resolve()
    }

    serves(queue: string): boolean {
      return this.#running && this.options.queues.includes(queue)
    }

    pull(): void {
      while (this.#running) {
        const entry = this.#next()
        if (!entry) return
        const queue = entry.record.options.queue
        this.#perQueue.set(queue, (this.#perQueue.get(queue) ?? 0) + 1)
        const run = this.#run(entry).finally(() => {
          this.#active.delete(run)
          this.#perQueue.set(queue, this.#perQueue.get(queue)! - 1)
          dispatch()
        })
        this.#active.add(run)
      }
    }

    #next(): Entry | undefined {
      let best: Entry | undefined
      for (const queue of this.options.queues) {
        // Concurrency is per queue, as with one BullMQ worker per queue.
        if ((this.#perQueue.get(queue) ?? 0) >= this.options.concurrency) continue
        const head = waiting.get(queue)?.[0]
        if (!head) continue
        const better =
          !best ||
          PRIORITY_RANK[head.record.options.priority] <
            PRIORITY_RANK[best.record.options.priority] ||
          (head.record.options.priority === best.record.options.priority && head.seq < best.seq)
        if (better) best = head
      }
      if (best) waiting.get(best.record.options.queue)!.shift()
      return best
    }

    async #run(entry: Entry): Promise<void> {
      entry.state = 'active'
      entry.attemptsMade++
      entry.startedAt = Date.now()
      const delivered: DeliveredJob = { ...entry.record, attempt: entry.attemptsMade }
      try {
        await this.options.handle(delivered)
        finish(entry, 'completed')
      } catch (thrown) {
        if (thrown instanceof RequeueJob) {
          entry.attemptsMade--
          return makeWaiting(entry)
        }
        const error = toError(thrown)
        entry.lastError = errorInfo(error)
        const retryable = !(error instanceof AfterwardError && !error.retryable)
        if (retryable && entry.attemptsMade < entry.record.options.attempts) {
          schedule(entry, backoffDelay(entry.record.options.backoff, entry.attemptsMade))
        } else {
          finish(entry, 'failed')
        }
      }
    }

    async close(force = false): Promise<void> {
      this.#running = false
      consumers.delete(this)
      if (!force) await Promise.allSettled([...this.#active])
    }
  }

  return {
    name: 'memory',
    durable: false,

    async enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]> {
      if (closed) throw new AfterwardError(ErrorCode.CLOSED, 'The memory driver is closed.')
      await Promise.resolve() // stored asynchronously, like a broker
      if (signal?.aborted) throw new AfterwardError(ErrorCode.ENQUEUE_FAILED, 'Enqueue abandoned.')
      return records.map((record) => {
        const key = dedupKey(record)
        const live = key === undefined ? undefined : liveKeys.get(key)
        if (live !== undefined) return { id: live, deduplicated: true }
        if (key !== undefined) liveKeys.set(key, record.id)
        const entry: Entry = {
          record: structuredClone(record),
          state: 'waiting',
          seq: seq++,
          attemptsMade: 0,
          lastError: undefined,
          startedAt: undefined,
          finishedAt: undefined,
          timer: undefined,
        }
        jobs.set(record.id, entry)
        if (record.requestId !== undefined) {
          const ids = byRequest.get(record.requestId) ?? new Set<string>()
          byRequest.set(record.requestId, ids.add(record.id))
        }
        schedule(entry, record.options.delay - (Date.now() - record.createdAt))
        return { id: record.id, deduplicated: false }
      })
    },

    get(id) {
      const entry = jobs.get(id)
      return Promise.resolve(entry && info(entry))
    },

    byRequest(requestId) {
      const ids = [...(byRequest.get(requestId) ?? [])]
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
        const timer = setTimeout(() => {
          events.off(`finished:${id}`, done)
          reject(
            new AfterwardError(
              ErrorCode.WAIT_TIMEOUT,
              `Job '${id}' did not finish within ${timeoutMs} ms (state: ${entry.state}).`,
            ),
          )
        }, timeoutMs)
        const done = (): void => {
          clearTimeout(timer)
          resolve(info(entry))
        }
        events.once(`finished:${id}`, done)
      })
    },

    consume: (consumeOptions) => new MemoryConsumer(consumeOptions),

    drain(drainOptions = {}) {
      const timeoutMs = drainOptions.timeout ?? 30_000
      return new Promise<void>((resolve, reject) => {
        for (const [queue, list] of waiting) {
          if (list.length > 0 && ![...consumers].some((c) => c.serves(queue))) {
            return reject(
              new AfterwardError(
                ErrorCode.CONFIG_INVALID,
                `drain(): ${list.length} job(s) wait in queue '${queue}' and no started worker takes it. Start afterward.worker() first.`,
              ),
            )
          }
        }
        if (idle()) return resolve()
        const timer = setTimeout(() => {
          events.off('idle', done)
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
        events.once('idle', done)
      })
    },

    close() {
      closed = true
      for (const entry of jobs.values()) clearTimeout(entry.timer)
      return Promise.resolve()
    },
  }
}
