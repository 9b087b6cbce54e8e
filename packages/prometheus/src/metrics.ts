import { Gauge, register as globalRegistry } from 'prom-client'
import type { Afterward, JobEvent } from '@afterward/core'
import {
  checkMetricsOptions,
  configError,
  type MetricsBuckets,
  type MetricsRegistry,
  type QueueCountsOptions,
} from './options.js'
import { ObservedHistogram, storeCounter, type HistogramSource } from './exposition.js'
import { queueJobsGauge } from './queue-counts.js'
import {
  OUTCOMES,
  SeriesStore,
  type CounterName,
  type Observations,
  type Outcome,
  type TaskSeries,
} from './series.js'

/** Options of `afterwardMetrics`. */
export interface AfterwardMetricsOptions {
  /** The instance whose jobs are measured: the metrics subscribe to its lifecycle events. */
  afterward: Afterward
  /**
   * Where the metrics are registered; expose it with `metricsPlugin` or `metricsHandler`.
   * @defaultValue prom-client's global `register`
   */
  registry?: MetricsRegistry
  /**
   * Start of every metric name: a valid Prometheus name ending in `_`.
   * @defaultValue 'afterward_'
   */
  prefix?: string
  /** Upper bounds of the histograms' buckets, in seconds. @defaultValue see `DEFAULT_BUCKETS` */
  buckets?: MetricsBuckets
  /**
   * The per-queue job counts (`queue_jobs`, by queue and state), read with
   * `afterward.jobs.counts()` when Prometheus scrapes, at most once per `maxAge`. `false` leaves
   * them out: they are the broker's, the same from every process, so one process may report them.
   * @defaultValue { maxAge: 5_000 }
   */
  queueCounts?: false | QueueCountsOptions
}

/** What `afterwardMetrics` returns. */
export interface AfterwardMetrics {
  /** The registry the metrics are in. */
  readonly registry: MetricsRegistry
  /** The names of the metrics registered, such as `afterward_jobs_completed_total`. */
  readonly names: readonly string[]
  /** Unsubscribes from the instance's events and removes the metrics from the registry. */
  close(): void
}

/** The counters: their name after the prefix, what they count, and their help text. */
const COUNTERS: readonly [suffix: string, field: CounterName, help: string][] = [
  ['jobs_enqueued_total', 'enqueued', 'Jobs stored by the broker.'],
  [
    'jobs_deduplicated_total',
    'deduplicated',
    'Defers that stored nothing because a job with the same key was live.',
  ],
  [
    'jobs_enqueue_failures_total',
    'enqueueFailures',
    'Jobs the broker did not store (down, refused, or slower than enqueueTimeout); with the default flush, their request was answered 503.',
  ],
  [
    'jobs_discarded_total',
    'discarded',
    'Deferred jobs dropped because their request (or the task that deferred them) failed.',
  ],
  ['jobs_completed_total', 'completed', 'Jobs whose attempt succeeded.'],
  ['jobs_retried_total', 'retried', 'Failed attempts that will be retried.'],
  ['jobs_failed_total', 'failed', 'Jobs failed for good.'],
  [
    'jobs_handed_back_total',
    'handedBack',
    'Attempts aborted by a worker shutdown; their jobs went back to the queue.',
  ],
]

/**
 * Prometheus metrics of an Afterward instance's jobs in this process: counters and histograms
 * by task and queue, updated from its lifecycle events, a gauge of the worker slots in use, and
 * the broker's job counts per queue. Labels are task and queue names only (and an outcome or a
 * state), never job or request ids.
 *
 * @example
 * import { afterwardMetrics, metricsPlugin } from '@afterward/prometheus'
 * const metrics = afterwardMetrics({ afterward })
 * await app.register(metricsPlugin, { registry: metrics.registry }) // GET /metrics
 */
export function afterwardMetrics(options: AfterwardMetricsOptions): AfterwardMetrics {
  const { afterward, prefix, buckets, countsMaxAge } = checkMetricsOptions(options)
  const registry = options.registry ?? globalRegistry
  const name = (suffix: string): string => `${prefix}${suffix}`

  // Nothing is registered unless every name is free, so a refused call leaves no half set behind.
  const names = [
    ...COUNTERS.map(([suffix]) => suffix),
    'job_run_duration_seconds',
    'job_queue_wait_seconds',
    'enqueue_duration_seconds',
    'worker_slots_in_use',
    ...(countsMaxAge === undefined ? [] : ['queue_jobs']),
  ].map(name)
  checkNamesFree(registry, names)

  const store = new SeriesStore(buckets)
  for (const [suffix, field, help] of COUNTERS) {
    storeCounter({ name: name(suffix), help, registry, store, field })
  }
  const histogram = (
    suffix: string,
    help: string,
    bounds: readonly number[],
    source: HistogramSource,
    labelNames: string[] = ['task', 'queue'],
  ) =>
    new ObservedHistogram(
      { name: name(suffix), help, labelNames, buckets: [...bounds], registers: [registry] },
      source,
    )
  histogram(
    'job_run_duration_seconds',
    'Duration of each attempt, by how it ended.',
    buckets.runDuration,
    {
      *series() {
        for (const s of store) {
          for (const outcome of OUTCOMES) {
            yield { labels: { ...s.labels, outcome }, observations: s.runDuration[outcome] }
          }
        }
      },
      reset: () => {
        for (const s of store) for (const outcome of OUTCOMES) s.runDuration[outcome].reset()
      },
    },
    ['task', 'queue', 'outcome'],
  )
  histogram(
    'job_queue_wait_seconds',
    'Time from the defer to the start of the first attempt (a delay option included).',
    buckets.queueWait,
    perSeries(store, (s) => s.queueWait),
  )
  histogram(
    'enqueue_duration_seconds',
    'Round trip to the broker of the batch that stored each job.',
    buckets.enqueueDuration,
    perSeries(store, (s) => s.enqueueDuration),
  )

  // Attempts running in this process, per queue. An attempt that began before the metrics
  // subscribed ends without having been counted: the count stops at zero instead of going below,
  // so it never reads more than the truth and is exact again once the queue has been idle.
  const running = new Map<string, { count: number }>()
  new Gauge({
    name: name('worker_slots_in_use'),
    help: 'Attempts running in this process now, per queue (at most the worker concurrency).',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      for (const [queue, { count }] of running) this.set({ queue }, count)
    },
  })

  if (countsMaxAge !== undefined) {
    queueJobsGauge({ afterward, name: name('queue_jobs'), registry, maxAge: countsMaxAge })
  }

  const ended = (e: JobEvent & { durationMs: number }, outcome: Outcome): TaskSeries => {
    const slots = running.get(e.queue)
    if (slots && slots.count > 0) slots.count--
    const series = store.get(e.task, e.queue)
    series.runDuration[outcome].observe(e.durationMs / 1_000)
    return series
  }
  const unsubscribe = [
    afterward.on('enqueued', (e) => {
      const series = store.get(e.task, e.queue)
      series.counts[e.deduplicatedInto === undefined ? 'enqueued' : 'deduplicated']++
      series.enqueueDuration.observe(e.durationMs / 1_000)
    }),
    afterward.on('enqueue-failed', (e) => void store.get(e.task, e.queue).counts.enqueueFailures++),
    afterward.on('discarded', (e) => void store.get(e.task, e.queue).counts.discarded++),
    afterward.on('started', (e) => {
      const slots = running.get(e.queue)
      if (slots) slots.count++
      else running.set(e.queue, { count: 1 })
      // Later attempts waited for their backoff, not for a worker: only the first is a queue wait.
      // Clocks of two machines may disagree by a little: never a negative wait.
      if (e.attempt === 1) {
        store.get(e.task, e.queue).queueWait.observe(Math.max(0, e.waitMs) / 1_000)
      }
    }),
    afterward.on('completed', (e) => void ended(e, 'completed').counts.completed++),
    afterward.on('retrying', (e) => void ended(e, 'retried').counts.retried++),
    afterward.on('failed', (e) => void ended(e, 'failed').counts.failed++),
    afterward.on('handed-back', (e) => void ended(e, 'handed_back').counts.handedBack++),
  ]

  let closed = false
  return {
    registry,
    names,
    close() {
      if (closed) return
      closed = true
      for (const off of unsubscribe) off()
      for (const metric of names) registry.removeSingleMetric(metric)
    },
  }
}

/** A histogram source of one `Observations` per task series. */
function perSeries(store: SeriesStore, pick: (s: TaskSeries) => Observations): HistogramSource {
  return {
    *series() {
      for (const s of store) yield { labels: s.labels, observations: pick(s) }
    },
    reset: () => {
      for (const s of store) pick(s).reset()
    },
  }
}

function checkNamesFree(registry: MetricsRegistry, names: readonly string[]): void {
  const taken = names.find((n) => registry.getSingleMetric(n) !== undefined)
  if (taken !== undefined) {
    throw configError(
      'afterwardMetrics',
      `the registry already has a metric named ${taken}. Each Afterward instance needs its own registry (registry: new Registry()) or its own prefix; to measure the same instance again, call close() on the previous metrics first`,
    )
  }
}
