// The metrics read from a SeriesStore when the registry is scraped: the counters and histograms
// by task and queue, and the worker slots in use per queue.
import { Gauge } from 'prom-client'
import { ObservedHistogram, storeCounter, type HistogramSource } from './exposition.js'
import type { MetricsRegistry } from './options.js'
import {
  OUTCOMES,
  type CounterName,
  type Observations,
  type SeriesStore,
  type TaskSeries,
} from './series.js'

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
  [
    'jobs_stalled_total',
    'stalled',
    'Jobs found stalled (the worker running them died or stopped renewing their lock) and put back in their queue, as found by the workers of this process.',
  ],
]

/** The names, after the prefix, of the metrics that `registerStoreMetrics` registers. */
export const STORE_METRICS: readonly string[] = [
  ...COUNTERS.map(([suffix]) => suffix),
  'job_run_duration_seconds',
  'job_queue_wait_seconds',
  'enqueue_duration_seconds',
  'worker_slots_in_use',
]

/** Registers the metrics of `store` in `registry`, each named `prefix` + its name. */
export function registerStoreMetrics(
  registry: MetricsRegistry,
  prefix: string,
  store: SeriesStore,
): void {
  const name = (suffix: string): string => `${prefix}${suffix}`
  const { buckets } = store
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

  new Gauge({
    name: name('worker_slots_in_use'),
    help: 'Attempts running in this process now, per queue (at most the worker concurrency).',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      for (const [queue, count] of store.slots()) this.set({ queue }, count)
    },
  })
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
