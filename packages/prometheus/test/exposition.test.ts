// The store-backed metrics render exactly what prom-client's own metrics render for the same
// observations and increments.
import { Counter, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { ObservedHistogram, storeCounter } from '../src/exposition.js'
import { Observations, SeriesStore } from '../src/series.js'
import { scraped, type Sample } from './scrape.js'

const bounds = [0.01, 0.1, 1]
// On, below and above the bounds, and past the last one.
const values = [0, 0.005, 0.01, 0.05, 0.1, 0.100001, 1, 2, 30]

const sorted = (samples: Sample[]) =>
  [...samples].sort((a, b) =>
    `${a.name}${JSON.stringify(Object.entries(a.labels).sort())}`.localeCompare(
      `${b.name}${JSON.stringify(Object.entries(b.labels).sort())}`,
    ),
  )

describe('store-backed metrics', () => {
  it('count each value in the bucket prom-client would (upper bounds inclusive)', () => {
    const observations = new Observations(bounds)
    for (const v of values) observations.observe(v)
    // <= 0.01: 0, 0.005, 0.01 · <= 0.1: 0.05, 0.1 · <= 1: 0.100001, 1 · above: 2, 30
    expect(observations.perBucket).toEqual([3, 2, 2, 2])
    expect(observations.count).toBe(values.length)
    expect(observations.sum).toBeCloseTo(
      values.reduce((a, b) => a + b, 0),
      12,
    )
  })

  it('render a histogram as prom-client’s Histogram does', async () => {
    const theirs = new Registry()
    const reference = new Histogram({
      name: 'run_seconds',
      help: 'Runs.',
      labelNames: ['task', 'queue'],
      buckets: bounds,
      registers: [theirs],
    })
    const ours = new Registry()
    const store = new SeriesStore({
      runDuration: bounds,
      queueWait: bounds,
      enqueueDuration: bounds,
    })
    new ObservedHistogram(
      {
        name: 'run_seconds',
        help: 'Runs.',
        labelNames: ['task', 'queue'],
        buckets: bounds,
        registers: [ours],
      },
      {
        *series() {
          for (const s of store) yield { labels: s.labels, observations: s.queueWait }
        },
        reset: () => undefined,
      },
    )
    for (const [task, queue] of [
      ['a', 'q1'],
      ['a', 'q2'],
      ['b', 'q1'],
    ] as const) {
      for (const v of values) {
        reference.observe({ task, queue }, v)
        store.get(task, queue).queueWait.observe(v)
      }
    }
    const expected = scraped(await theirs.metrics()).samples
    const actual = scraped(await ours.metrics()).samples
    expect(actual).toHaveLength(3 * (bounds.length + 3))
    expect(sorted(actual)).toEqual(sorted(expected))
    // The JSON form too (what prom-client's cluster aggregation reads), exemplars aside.
    const withoutExemplars = (json: unknown) =>
      JSON.parse(
        JSON.stringify(json, (key, value: unknown) => (key === 'exemplar' ? undefined : value)),
      )
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(
      withoutExemplars(await theirs.getMetricsAsJSON()),
    )
  })

  it('render a counter as prom-client’s Counter does, adding only what is new at each scrape', async () => {
    const theirs = new Registry()
    const reference = new Counter({
      name: 'done_total',
      help: 'Done.',
      labelNames: ['task', 'queue'],
      registers: [theirs],
    })
    const ours = new Registry()
    const store = new SeriesStore({
      runDuration: bounds,
      queueWait: bounds,
      enqueueDuration: bounds,
    })
    storeCounter({ name: 'done_total', help: 'Done.', registry: ours, store, field: 'completed' })
    const count = (task: string, times: number) => {
      for (let i = 0; i < times; i++) {
        reference.inc({ task, queue: 'q' })
        store.get(task, 'q').counts.completed++
      }
    }
    count('a', 3)
    expect(await ours.metrics()).toBe(await theirs.metrics())
    count('a', 2)
    count('b', 1)
    expect(await ours.metrics()).toBe(await theirs.metrics())
    expect(scraped(await ours.metrics()).value('done_total', { task: 'a', queue: 'q' })).toBe(5)
  })
})
