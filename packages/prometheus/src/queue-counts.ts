// The per-queue job counts, read from the broker when Prometheus scrapes: at most one
// `afterward.jobs.counts()` call per `maxAge`, however often and however many scrapers ask.
import { Gauge } from 'prom-client'
import type { Afterward, JobState, QueueJobCounts } from '@afterward/core'
import type { MetricsRegistry } from './options.js'

/** The states reported: completed jobs only pile up until retention trims them. */
const STATES = ['waiting', 'delayed', 'active', 'failed'] as const satisfies readonly JobState[]

/** Registers the `queue_jobs` gauge, labelled by queue and state. */
export function queueJobsGauge(options: {
  afterward: Afterward
  name: string
  registry: MetricsRegistry
  maxAge: number
}): void {
  const { afterward, name, registry, maxAge } = options
  let read: { at: number; counts: QueueJobCounts[] | undefined } | undefined
  let reading: Promise<QueueJobCounts[] | undefined> | undefined

  const counts = (): Promise<QueueJobCounts[] | undefined> => {
    if (read && performance.now() - read.at < maxAge) return Promise.resolve(read.counts)
    // Concurrent scrapes share one call. A failure is remembered for maxAge too, so that a broker
    // that is down is not asked again on every scrape.
    reading ??= afterward.jobs
      .counts()
      .catch((err: unknown) => {
        afterward.log.warn(
          { err, metric: name },
          'could not read the queue counts for the metrics; the gauge is left out until they can be read',
        )
        return undefined
      })
      .then((result) => {
        read = { at: performance.now(), counts: result }
        reading = undefined
        return result
      })
    return reading
  }

  new Gauge({
    name,
    help: `Jobs per queue and state (${STATES.join(', ')}), read from the broker at most every ${maxAge / 1_000} s.`,
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const result = await counts()
      this.reset()
      for (const { queue, counts: byState } of result ?? []) {
        for (const state of STATES) this.set({ queue, state }, byState[state])
      }
    },
  })
}
