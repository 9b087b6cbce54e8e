// The memory driver's consumer: takes waiting jobs by priority, up to its concurrency per queue,
// runs each attempt and carries out how the worker says it ended, on the driver's queues
// (memory.ts).
import type { AttemptEnd, ConsumeOptions, Consumer, JobRecord } from '../driver.js'
import { PRIORITY_RANK } from '../options.js'
import { recordFailure, startAttempt, type Entry } from './memory-entry.js'
import type { PriorityLanes } from './memory-lanes.js'

/** What a consumer uses of the driver: its waiting jobs and what to do with an attempt's end. */
export interface MemoryQueues {
  /** Waiting jobs per queue. */
  readonly waiting: ReadonlyMap<string, PriorityLanes<Entry>>
  /** Started consumers, which the driver asks to pull when jobs arrive. */
  readonly consumers: Set<MemoryConsumer>
  finish(entry: Entry, state: 'completed' | 'failed'): void
  /** Back to waiting, without spending an attempt (worker shutdown). */
  makeWaiting(entry: Entry): void
  /** Waiting again after `delay` ms (a retry). */
  schedule(entry: Entry, delay: number): unknown
  /** A job made by a schedule started: the schedule plans its next run. */
  started(record: JobRecord): void
}

export class MemoryConsumer implements Consumer {
  #running = false
  #activeCount = 0
  #settled: (() => void) | undefined // resolves `#closing` once no attempt is active
  #closing: Promise<void> | undefined
  readonly #perQueue = new Map<string, number>()
  readonly #queues: MemoryQueues
  constructor(
    readonly options: ConsumeOptions,
    queues: MemoryQueues,
  ) {
    this.#queues = queues
  }

  start(): Promise<void> {
    this.#running = true
    this.#queues.consumers.add(this)
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
      this.#activeCount++
      void this.#run(entry)
    }
  }

  #next(): Entry | undefined {
    let best: Entry | undefined
    let bestLanes: PriorityLanes<Entry> | undefined
    for (const queue of this.options.queues) {
      // Concurrency is per queue, as with one BullMQ worker per queue.
      if ((this.#perQueue.get(queue) ?? 0) >= this.options.concurrency) continue
      const lanes = this.#queues.waiting.get(queue)
      let head = lanes?.peek()
      while (head?.cancelled) {
        lanes!.shift()
        head = lanes!.peek()
      }
      if (!head) continue
      const better =
        !best ||
        PRIORITY_RANK[head.record.options.priority] < PRIORITY_RANK[best.record.options.priority] ||
        (head.record.options.priority === best.record.options.priority && head.seq < best.seq)
      if (better) {
        best = head
        bestLanes = lanes
      }
    }
    bestLanes?.shift()
    return best
  }

  // One async function per job (the attempt and the slot it frees), not two.
  async #run(entry: Entry): Promise<void> {
    try {
      const delivered = startAttempt(entry)
      if (entry.record.schedule && entry.attemptsMade === 1) this.#queues.started(entry.record)
      this.#ended(entry, await this.options.handle(delivered))
    } finally {
      const queue = entry.record.options.queue
      this.#perQueue.set(queue, this.#perQueue.get(queue)! - 1)
      if (--this.#activeCount === 0) this.#settled?.()
      // The slot freed is this consumer's own: only it can take a job because of it.
      this.pull()
    }
  }

  /** Carries out how the worker says the attempt ended. */
  #ended(entry: Entry, end: AttemptEnd): void {
    switch (end.type) {
      case 'completed':
        return this.#queues.finish(entry, 'completed')
      case 'requeue':
        entry.attemptsMade--
        return this.#queues.makeWaiting(entry)
      case 'wait':
        // Held back by a limit, or asked to retry later: neither counts as an attempt or a run.
        entry.attemptsMade--
        entry.deliveries--
        this.#queues.schedule(entry, end.delay)
        return
      case 'retry':
        recordFailure(entry, end.error)
        this.#queues.schedule(entry, end.delay)
        return
      case 'failed':
        recordFailure(entry, end.error)
        return this.#queues.finish(entry, 'failed')
    }
  }

  async close(force = false): Promise<void> {
    this.#running = false
    this.#queues.consumers.delete(this)
    if (force || this.#activeCount === 0) return
    this.#closing ??= new Promise<void>((resolve) => (this.#settled = resolve))
    await this.#closing
  }
}
