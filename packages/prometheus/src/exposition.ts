// The prom-client metrics that expose a SeriesStore: what the listeners counted becomes
// prom-client values when the registry is scraped, never on the job's path.
import { Counter, Histogram, type HistogramConfiguration } from 'prom-client'
import type { MetricsRegistry } from './options.js'
import type { CounterName, Observations, SeriesStore } from './series.js'

/**
 * A counter by task and queue whose counts are the store's. At each scrape it adds what was
 * counted since the last one, through prom-client's own `inc`, so that the registry's
 * `resetMetrics()` resets it as it would any counter.
 */
export function storeCounter(options: {
  name: string
  help: string
  registry: MetricsRegistry
  store: SeriesStore
  field: CounterName
}): Counter<'task' | 'queue'> {
  const { name, help, registry, store, field } = options
  const reported = new WeakMap<object, number>()
  return new Counter({
    name,
    help,
    labelNames: ['task', 'queue'],
    registers: [registry],
    collect() {
      for (const series of store) {
        const total = series.counts[field]
        const before = reported.get(series) ?? 0
        if (total > before) {
          this.inc(series.labels, total - before)
          reported.set(series, total)
        }
      }
    },
  })
}

/** Where an `ObservedHistogram` reads its series. */
export interface HistogramSource {
  /** Each series with observations, with its labels. */
  series(): Iterable<{ labels: Record<string, string>; observations: Observations }>
  /** Clears every series (the registry's `resetMetrics()`). */
  reset(): void
}

type HistogramValues = Awaited<ReturnType<Histogram['get']>>
type MetricFields = { name: string; help: string; aggregator: HistogramValues['aggregator'] }

/**
 * A prom-client histogram whose observations are counted by the listeners in `Observations`
 * (an array index and two additions per event) instead of `observe` (which validates and hashes
 * its labels each time). prom-client renders what `get()` returns, as for its own histograms.
 */
export class ObservedHistogram extends Histogram<string> {
  // Undefined while prom-client's constructor runs (it calls reset()).
  private source: HistogramSource | undefined

  constructor(config: HistogramConfiguration<string>, source: HistogramSource) {
    super(config)
    this.source = source
  }

  override async get(): Promise<HistogramValues> {
    const { name, help, aggregator } = this as unknown as MetricFields
    const values: HistogramValues['values'] = []
    for (const { labels, observations } of this.source?.series() ?? []) {
      if (observations.count === 0) continue
      let cumulative = 0
      observations.bounds.forEach((le, i) => {
        cumulative += observations.perBucket[i]!
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` })
      })
      values.push(
        {
          labels: { ...labels, le: '+Inf' },
          value: observations.count,
          metricName: `${name}_bucket`,
        },
        { labels, value: observations.sum, metricName: `${name}_sum` },
        { labels, value: observations.count, metricName: `${name}_count` },
      )
    }
    return { name, help, type: 'histogram', values, aggregator } as unknown as HistogramValues
  }

  /** What prom-client 15's registry reads to write the text format: the same values. */
  getForPromString(): Promise<HistogramValues> {
    return this.get()
  }

  override reset(): void {
    super.reset()
    this.source?.reset()
  }
}
