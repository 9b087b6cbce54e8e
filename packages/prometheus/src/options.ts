import type { OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client'
import { AfterwardError, ErrorCode, type Afterward } from '@afterward/core'

/**
 * A prom-client registry, in the Prometheus text format (the default) or OpenMetrics.
 *
 * @example
 * const registry = new Registry<OpenMetricsContentType>()
 * registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
 * afterwardMetrics({ afterward, registry })
 */
export type MetricsRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>

/** Upper bounds of the histograms' buckets, in seconds, in increasing order. */
export interface MetricsBuckets {
  /** `job_run_duration_seconds`. @defaultValue 5 ms to 5 min */
  runDuration?: readonly number[]
  /** `job_queue_wait_seconds`. @defaultValue 5 ms to 1 h */
  queueWait?: readonly number[]
  /** `enqueue_duration_seconds`. @defaultValue 0.5 ms to 2.5 s */
  enqueueDuration?: readonly number[]
}

/**
 * The buckets used when `buckets` leaves one out: wide enough for jobs of a few milliseconds to a
 * few minutes, waits up to an hour, and enqueues up to the default `enqueueTimeout` (2 s).
 *
 * @example
 * // Jobs that run for up to an hour: the default bounds, then longer ones.
 * afterwardMetrics({
 *   afterward,
 *   buckets: { runDuration: [...DEFAULT_BUCKETS.runDuration, 600, 1800, 3600] },
 * })
 */
export const DEFAULT_BUCKETS: Required<MetricsBuckets> = {
  runDuration: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  queueWait: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  enqueueDuration: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
}

/** Options of the per-queue job counts (`queue_jobs`). */
export interface QueueCountsOptions {
  /**
   * How long one `afterward.jobs.counts()` answer serves scrapes, in ms: a scrape calls the
   * broker only when the last answer is older.
   * @defaultValue 5_000
   */
  maxAge?: number
}

const DEFAULT_COUNTS_MAX_AGE = 5_000

const PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*_$/

/** Checks `afterwardMetrics`'s options up front and applies the defaults. */
export function checkMetricsOptions(
  options: {
    afterward: Afterward
    registry?: MetricsRegistry
    prefix?: string
    buckets?: MetricsBuckets
    queueCounts?: false | QueueCountsOptions
  } | null,
): {
  afterward: Afterward
  prefix: string
  buckets: Required<MetricsBuckets>
  /** Undefined when the queue counts are turned off. */
  countsMaxAge: number | undefined
} {
  if (!options || typeof options !== 'object') {
    throw configError('afterwardMetrics', 'pass an options object: afterwardMetrics({ afterward })')
  }
  const { afterward, registry, prefix = 'afterward_', buckets = {}, queueCounts = {} } = options
  if (typeof afterward?.on !== 'function') {
    throw configError(
      'afterwardMetrics',
      '`afterward` is required: pass the instance made by createAfterward, afterwardMetrics({ afterward })',
    )
  }
  if (registry !== undefined) checkRegistry(registry, 'afterwardMetrics')
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw configError(
      'afterwardMetrics',
      `prefix must be a Prometheus metric name ending in '_', such as 'shop_afterward_' (got ${JSON.stringify(prefix)})`,
    )
  }
  const checked = { ...DEFAULT_BUCKETS }
  for (const key of Object.keys(buckets) as (keyof MetricsBuckets)[]) {
    if (!(key in DEFAULT_BUCKETS)) {
      throw configError(
        'afterwardMetrics',
        `buckets.${key} is not a histogram (buckets: runDuration, queueWait, enqueueDuration)`,
      )
    }
    const bounds = buckets[key]
    if (bounds === undefined) continue
    if (!increasingPositive(bounds)) {
      throw configError(
        'afterwardMetrics',
        `buckets.${key} must be a non-empty array of increasing positive numbers of seconds, such as [0.1, 1, 10]`,
      )
    }
    checked[key] = bounds
  }
  return { afterward, prefix, buckets: checked, countsMaxAge: checkQueueCounts(queueCounts) }
}

function checkQueueCounts(queueCounts: unknown): number | undefined {
  if (queueCounts === false) return undefined
  if (typeof queueCounts !== 'object' || queueCounts === null) {
    throw configError(
      'afterwardMetrics',
      'queueCounts must be false (no queue gauge) or an object, such as { maxAge: 5_000 }',
    )
  }
  const maxAge = (queueCounts as QueueCountsOptions).maxAge ?? DEFAULT_COUNTS_MAX_AGE
  if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0) {
    throw configError(
      'afterwardMetrics',
      `queueCounts.maxAge must be a number of ms >= 0, such as 5_000 (got ${String(maxAge)})`,
    )
  }
  return maxAge
}

/** Throws unless `registry` looks like a prom-client `Registry`. */
export function checkRegistry(
  registry: unknown,
  where: string,
): asserts registry is MetricsRegistry {
  const r = registry as Partial<MetricsRegistry> | null
  if (
    typeof r?.metrics !== 'function' ||
    typeof r.registerMetric !== 'function' ||
    typeof r.contentType !== 'string'
  ) {
    throw configError(
      where,
      "registry must be a prom-client Registry (new Registry(), or prom-client's register)",
    )
  }
}

/** An `AFTERWARD_CONFIG_INVALID` error: `where` is the function that was called wrongly. */
export function configError(where: string, message: string): AfterwardError {
  return new AfterwardError(ErrorCode.CONFIG_INVALID, `${where}: ${message}.`)
}

function increasingPositive(bounds: unknown): boolean {
  if (!Array.isArray(bounds) || bounds.length === 0) return false
  return bounds.every(
    (b: unknown, i) =>
      typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > bounds[i - 1]),
  )
}
