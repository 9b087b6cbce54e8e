import { register as globalRegistry } from 'prom-client'
import type { Afterward } from '@afterward/core'
import { countEvents } from './listeners.js'
import {
  checkMetricsOptions,
  configError,
  type MetricsBuckets,
  type MetricsRegistry,
  type QueueCountsOptions,
} from './options.js'
import { queueJobsGauge } from './queue-counts.js'
import { SeriesStore } from './series.js'
import { STORE_METRICS, registerStoreMetrics } from './store-metrics.js'

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
  const names = [...STORE_METRICS, ...(countsMaxAge === undefined ? [] : ['queue_jobs'])].map(name)
  checkNamesFree(registry, names)

  const store = new SeriesStore(buckets)
  registerStoreMetrics(registry, prefix, store)
  if (countsMaxAge !== undefined) {
    queueJobsGauge({ afterward, name: name('queue_jobs'), registry, maxAge: countsMaxAge })
  }

  const unsubscribe = countEvents(afterward, store)

  let closed = false
  return {
    registry,
    names,
    close() {
      if (closed) return
      closed = true
      unsubscribe()
      for (const metric of names) registry.removeSingleMetric(metric)
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
