// What the event listeners count, per task and queue, in plain numbers: an event costs two map
// lookups and a few additions, where a prom-client `inc` or `observe` validates and hashes its
// labels every time. prom-client reads these counts only when the registry is scraped.

/** How an attempt ended, as the `outcome` label of the run duration. */
export type Outcome = 'completed' | 'retried' | 'failed' | 'handed_back'

export const OUTCOMES: readonly Outcome[] = ['completed', 'retried', 'failed', 'handed_back']

/** The counters of one task on one queue. */
export type CounterName =
  | 'enqueued'
  | 'deduplicated'
  | 'enqueueFailures'
  | 'discarded'
  | 'completed'
  | 'retried'
  | 'failed'
  | 'handedBack'
  | 'stalled'

/** One histogram series: observations per bucket (not cumulative), their sum and count. */
export class Observations {
  /** One slot per upper bound, and a last one for values above the highest bound. */
  readonly perBucket: number[]
  sum = 0
  count = 0

  constructor(readonly bounds: readonly number[]) {
    this.perBucket = new Array<number>(bounds.length + 1).fill(0)
  }

  observe(value: number): void {
    const { bounds, perBucket } = this
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    perBucket[i] = perBucket[i]! + 1
    this.sum += value
    this.count++
  }

  reset(): void {
    this.perBucket.fill(0)
    this.sum = 0
    this.count = 0
  }
}

/** Bucket bounds per histogram, in seconds. */
export interface SeriesBuckets {
  runDuration: readonly number[]
  queueWait: readonly number[]
  enqueueDuration: readonly number[]
}

/** Everything measured for one task on one queue. */
export class TaskSeries {
  readonly labels: { readonly task: string; readonly queue: string }
  readonly counts: Record<CounterName, number> = {
    enqueued: 0,
    deduplicated: 0,
    enqueueFailures: 0,
    discarded: 0,
    completed: 0,
    retried: 0,
    failed: 0,
    handedBack: 0,
    stalled: 0,
  }
  readonly runDuration: Record<Outcome, Observations>
  readonly queueWait: Observations
  readonly enqueueDuration: Observations

  constructor(task: string, queue: string, buckets: SeriesBuckets) {
    this.labels = Object.freeze({ task, queue })
    const run = (): Observations => new Observations(buckets.runDuration)
    this.runDuration = { completed: run(), retried: run(), failed: run(), handed_back: run() }
    this.queueWait = new Observations(buckets.queueWait)
    this.enqueueDuration = new Observations(buckets.enqueueDuration)
  }
}

/**
 * The series of every task and queue seen so far (as many as there are task and queue names),
 * and the attempts running in this process per queue.
 */
export class SeriesStore implements Iterable<TaskSeries> {
  // By task, then by queue: no key string is built per event.
  readonly #byTask = new Map<string, Map<string, TaskSeries>>()
  readonly #running = new Map<string, { count: number }>()

  constructor(readonly buckets: SeriesBuckets) {}

  get(task: string, queue: string): TaskSeries {
    let byQueue = this.#byTask.get(task)
    if (!byQueue) this.#byTask.set(task, (byQueue = new Map()))
    let series = byQueue.get(queue)
    if (!series) byQueue.set(queue, (series = new TaskSeries(task, queue, this.buckets)))
    return series
  }

  attemptStarted(queue: string): void {
    const running = this.#running.get(queue)
    if (running) running.count++
    else this.#running.set(queue, { count: 1 })
  }

  /**
   * An attempt that began before the store subscribed ends without having been counted: the
   * count stops at zero instead of going below, so it never reads more than the truth and is
   * exact again once the queue has been idle.
   */
  attemptEnded(queue: string): void {
    const running = this.#running.get(queue)
    if (running && running.count > 0) running.count--
  }

  /** Attempts running now, per queue (every queue that has had one). */
  *slots(): Iterable<[queue: string, running: number]> {
    for (const [queue, { count }] of this.#running) yield [queue, count]
  }

  *[Symbol.iterator](): Iterator<TaskSeries> {
    for (const byQueue of this.#byTask.values()) yield* byQueue.values()
  }
}
