import { Counter, Gauge, Histogram, register as globalRegistry } from 'prom-client'
import type { Afterward, JobEvent } from '@afterward/core'
import {
  checkMetricsOptions,
  configError,
  type MetricsBuckets,
  type MetricsRegistry,
  type QueueCountsOptions,
} from './options.js'
import { queueJobsGauge } from './queue-counts.js'

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

/** How an attempt ended, as the `outcome` label of the run duration. */
type Outcome = 'completed' | 'retried' | 'failed' | 'handed_back'

const TASK_QUEUE = ['task', 'queue'] as const

/**
 * Prometheus metrics of an Afterward instance's jobs in this process: counters and histograms
 * by task and queue, updated from its lifecycle events, and a gauge of the worker slots in use.
 * Labels are task and queue names only (and an outcome), never job or request ids.
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
  const registers = [registry]
  const counter = (suffix: string, help: string) =>
    new Counter({ name: name(suffix), help, labelNames: TASK_QUEUE, registers })

  // Nothing is registered unless every name is free, so a refused call leaves no half set behind.
  const names = [
    'jobs_enqueued_total',
    'jobs_deduplicated_total',
    'jobs_enqueue_failures_total',
    'jobs_discarded_total',
    'jobs_completed_total',
    'jobs_retried_total',
    'jobs_failed_total',
    'jobs_handed_back_total',
    'job_run_duration_seconds',
    'job_queue_wait_seconds',
    'enqueue_duration_seconds',
    'worker_slots_in_use',
    ...(countsMaxAge === undefined ? [] : ['queue_jobs']),
  ].map(name)
  checkNamesFree(registry, names)

  const enqueued = counter('jobs_enqueued_total', 'Jobs stored by the broker.')
  const deduplicated = counter(
    'jobs_deduplicated_total',
    'Defers that stored nothing because a job with the same key was live.',
  )
  const enqueueFailures = counter(
    'jobs_enqueue_failures_total',
    'Jobs the broker did not store (down, refused, or slower than enqueueTimeout); with the default flush, their request was answered 503.',
  )
  const discarded = counter(
    'jobs_discarded_total',
    'Deferred jobs dropped because their request (or the task that deferred them) failed.',
  )
  const completed = counter('jobs_completed_total', 'Jobs whose attempt succeeded.')
  const retried = counter('jobs_retried_total', 'Failed attempts that will be retried.')
  const failed = counter('jobs_failed_total', 'Jobs failed for good.')
  const handedBack = counter(
    'jobs_handed_back_total',
    'Attempts aborted by a worker shutdown; their jobs went back to the queue.',
  )
  const runDuration = new Histogram({
    name: name('job_run_duration_seconds'),
    help: 'Duration of each attempt, by how it ended.',
    labelNames: [...TASK_QUEUE, 'outcome'],
    buckets: [...buckets.runDuration],
    registers,
  })
  const queueWait = new Histogram({
    name: name('job_queue_wait_seconds'),
    help: 'Time from the defer to the start of the first attempt (a delay option included).',
    labelNames: TASK_QUEUE,
    buckets: [...buckets.queueWait],
    registers,
  })
  const enqueueDuration = new Histogram({
    name: name('enqueue_duration_seconds'),
    help: 'Round trip to the broker of the batch that stored each job.',
    labelNames: TASK_QUEUE,
    buckets: [...buckets.enqueueDuration],
    registers,
  })

  // The jobs running in this process, per queue: a set, so that an attempt that began before
  // the metrics subscribed cannot push the count below zero when it ends.
  const running = new Map<string, Set<string>>()
  new Gauge({
    name: name('worker_slots_in_use'),
    help: 'Attempts running in this process now, per queue (at most the worker concurrency).',
    labelNames: ['queue'],
    registers,
    collect() {
      for (const [queue, jobs] of running) this.set({ queue }, jobs.size)
    },
  })

  if (countsMaxAge !== undefined) {
    queueJobsGauge({ afterward, name: name('queue_jobs'), registry, maxAge: countsMaxAge })
  }

  const labels = (e: JobEvent) => ({ task: e.task, queue: e.queue })
  const ended = (e: JobEvent & { durationMs: number }, outcome: Outcome): void => {
    running.get(e.queue)?.delete(e.jobId)
    runDuration.observe({ task: e.task, queue: e.queue, outcome }, e.durationMs / 1_000)
  }
  const unsubscribe = [
    afterward.on('enqueued', (e) => {
      ;(e.deduplicatedInto === undefined ? enqueued : deduplicated).inc(labels(e))
      enqueueDuration.observe(labels(e), e.durationMs / 1_000)
    }),
    afterward.on('enqueue-failed', (e) => enqueueFailures.inc(labels(e))),
    afterward.on('discarded', (e) => discarded.inc(labels(e))),
    afterward.on('started', (e) => {
      let jobs = running.get(e.queue)
      if (!jobs) running.set(e.queue, (jobs = new Set()))
      jobs.add(e.jobId)
      // Later attempts waited for their backoff, not for a worker: only the first is a queue wait.
      // Clocks of two machines may disagree by a little: never a negative wait.
      if (e.attempt === 1) queueWait.observe(labels(e), Math.max(0, e.waitMs) / 1_000)
    }),
    afterward.on('completed', (e) => {
      completed.inc(labels(e))
      ended(e, 'completed')
    }),
    afterward.on('retrying', (e) => {
      retried.inc(labels(e))
      ended(e, 'retried')
    }),
    afterward.on('failed', (e) => {
      failed.inc(labels(e))
      ended(e, 'failed')
    }),
    afterward.on('handed-back', (e) => {
      handedBack.inc(labels(e))
      ended(e, 'handed_back')
    }),
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

function checkNamesFree(registry: MetricsRegistry, names: readonly string[]): void {
  const taken = names.find((n) => registry.getSingleMetric(n) !== undefined)
  if (taken !== undefined) {
    throw configError(
      'afterwardMetrics',
      `the registry already has a metric named ${taken}. Each Afterward instance needs its own registry (registry: new Registry()) or its own prefix; to measure the same instance again, call close() on the previous metrics first`,
    )
  }
}
