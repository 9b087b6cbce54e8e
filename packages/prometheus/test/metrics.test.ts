// afterwardMetrics itself: its options and their errors, registries kept apart, close(),
// deduplicated and handed-back jobs.
import { describe, expect, it } from 'vitest'
import { Registry, register, type OpenMetricsContentType } from 'prom-client'
import { AfterwardError, defineTask, memory } from '@afterward/core'
import { afterwardMetrics, type AfterwardMetricsOptions } from '@afterward/prometheus'
import { deferred, instance, thrown } from '../../../test/support/afterward.js'
import { scraped } from './scrape.js'

const ok = defineTask({ name: 'ok', run: (_input: { n: number }) => undefined })
const labels = { task: 'ok', queue: 'default' }

describe('afterwardMetrics', () => {
  it('keeps two instances with their own registries apart', async () => {
    const a = instance({ tasks: [ok], driver: memory() })
    const b = instance({ tasks: [ok], driver: memory() })
    const registryA = new Registry()
    const registryB = new Registry()
    afterwardMetrics({ afterward: a, registry: registryA })
    afterwardMetrics({ afterward: b, registry: registryB })
    await a.enqueue(ok, { n: 1 })
    await a.enqueue(ok, { n: 2 })
    await b.enqueue(ok, { n: 3 })
    expect(scraped(await registryA.metrics()).value('afterward_jobs_enqueued_total', labels)).toBe(
      2,
    )
    expect(scraped(await registryB.metrics()).value('afterward_jobs_enqueued_total', labels)).toBe(
      1,
    )
  })

  it('registers in prom-client’s global registry by default, and close() takes the metrics out', async () => {
    const afterward = instance({ tasks: [ok], driver: memory() })
    const metrics = afterwardMetrics({ afterward })
    expect(metrics.registry).toBe(register)
    await afterward.enqueue(ok, { n: 1 })
    expect(scraped(await register.metrics()).value('afterward_jobs_enqueued_total', labels)).toBe(1)
    metrics.close()
    metrics.close() // twice is fine
    for (const name of metrics.names) expect(register.getSingleMetric(name)).toBeUndefined()
    await afterward.enqueue(ok, { n: 2 })
    // Unsubscribed too: measuring again starts from zero.
    const again = afterwardMetrics({ afterward })
    expect(scraped(await register.metrics()).series('afterward_jobs_enqueued_total')).toEqual([])
    again.close()
  })

  it('refuses a registry that already holds its metrics, and registers nothing then', () => {
    const afterward = instance({ tasks: [ok], driver: memory() })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry })
    const before = registry.getMetricsAsArray().length
    const error = thrown(() => afterwardMetrics({ afterward, registry }))
    expect(error).toBeInstanceOf(AfterwardError)
    expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
    expect((error as Error).message).toMatch(
      /already has a metric named afterward_jobs_enqueued_total.*its own registry \(registry: new Registry\(\)\) or its own prefix/,
    )
    expect(registry.getMetricsAsArray()).toHaveLength(before)
    // A second instance in the same registry, under its own prefix.
    const other = afterwardMetrics({ afterward, registry, prefix: 'billing_afterward_' })
    expect(other.names).toContain('billing_afterward_jobs_completed_total')
    expect(registry.getMetricsAsArray()).toHaveLength(before * 2)
  })

  it('names every metric with the prefix', async () => {
    const afterward = instance({ tasks: [ok], driver: memory() })
    const registry = new Registry()
    const metrics = afterwardMetrics({ afterward, registry, prefix: 'shop_jobs_' })
    await afterward.enqueue(ok, { n: 1 })
    expect(metrics.names).toEqual([
      'shop_jobs_jobs_enqueued_total',
      'shop_jobs_jobs_deduplicated_total',
      'shop_jobs_jobs_enqueue_failures_total',
      'shop_jobs_jobs_discarded_total',
      'shop_jobs_jobs_completed_total',
      'shop_jobs_jobs_retried_total',
      'shop_jobs_jobs_failed_total',
      'shop_jobs_jobs_handed_back_total',
      'shop_jobs_jobs_stalled_total',
      'shop_jobs_job_run_duration_seconds',
      'shop_jobs_job_queue_wait_seconds',
      'shop_jobs_enqueue_duration_seconds',
      'shop_jobs_worker_slots_in_use',
      'shop_jobs_queue_jobs',
    ])
    const text = await registry.metrics()
    expect(scraped(text).value('shop_jobs_jobs_enqueued_total', labels)).toBe(1)
    expect(text).not.toContain('afterward_')
  })

  it('starts again from zero after the registry’s resetMetrics()', async () => {
    const afterward = instance({ tasks: [ok], driver: memory() })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry })
    await afterward.worker().start()
    await afterward.jobs.wait((await afterward.enqueue(ok, { n: 1 })).id)
    let metrics = scraped(await registry.metrics())
    expect(metrics.value('afterward_jobs_completed_total', labels)).toBe(1)
    registry.resetMetrics()
    metrics = scraped(await registry.metrics())
    expect(metrics.series('afterward_jobs_completed_total')).toEqual([])
    expect(metrics.series('afterward_job_run_duration_seconds_count')).toEqual([])
    await afterward.jobs.wait((await afterward.enqueue(ok, { n: 2 })).id)
    metrics = scraped(await registry.metrics())
    expect(metrics.value('afterward_jobs_completed_total', labels)).toBe(1)
    expect(metrics.value('afterward_jobs_enqueued_total', labels)).toBe(1)
    expect(
      metrics.count('afterward_job_run_duration_seconds', { ...labels, outcome: 'completed' }),
    ).toBe(1)
    expect(metrics.count('afterward_enqueue_duration_seconds', labels)).toBe(1)
  })

  it('writes OpenMetrics into a registry made for it', async () => {
    const afterward = instance({ tasks: [ok], driver: memory() })
    const registry = new Registry<OpenMetricsContentType>()
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    afterwardMetrics({ afterward, registry })
    await afterward.worker().start()
    await afterward.jobs.wait((await afterward.enqueue(ok, { n: 1 })).id)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE afterward_jobs_completed counter')
    expect(text).toContain('afterward_jobs_completed_total{task="ok",queue="default"} 1')
    expect(text).toContain('# TYPE afterward_job_run_duration_seconds histogram')
    const metrics = scraped(text)
    expect(metrics.value('afterward_jobs_completed_total', labels)).toBe(1)
    expect(
      metrics.count('afterward_job_run_duration_seconds', { ...labels, outcome: 'completed' }),
    ).toBe(1)
    expect(text.endsWith('# EOF\n')).toBe(true)
  })

  it('counts a defer whose key was live as deduplicated, not enqueued', async () => {
    const afterward = instance({ tasks: [ok], driver: memory() })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry })
    const first = await afterward.enqueue(ok, { n: 1 }, { key: 'user-1' })
    const second = await afterward.enqueue(ok, { n: 2 }, { key: 'user-1' })
    expect(second).toEqual({ id: first.id, deduplicated: true })
    const metrics = scraped(await registry.metrics())
    expect(metrics.value('afterward_jobs_enqueued_total', labels)).toBe(1)
    expect(metrics.value('afterward_jobs_deduplicated_total', labels)).toBe(1)
    expect(metrics.count('afterward_enqueue_duration_seconds', labels)).toBe(2)
  })

  it('counts an attempt handed back at shutdown, and frees its slot', async () => {
    const started = deferred()
    const stuck = defineTask({
      name: 'stuck',
      // Ignores its signal: only the grace period's abort ends it.
      run: () => {
        started.resolve()
        return new Promise<void>(() => undefined)
      },
    })
    const afterward = instance({ tasks: [stuck], driver: memory() })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry })
    const worker = afterward.worker({ gracePeriod: 50 })
    await worker.start()
    const { id } = await afterward.enqueue(stuck, undefined)
    await started.promise
    const stuckLabels = { task: 'stuck', queue: 'default' }
    let metrics = scraped(await registry.metrics())
    expect(metrics.value('afterward_worker_slots_in_use', { queue: 'default' })).toBe(1)
    await worker.close()
    expect((await afterward.jobs.get(id))?.state).toBe('waiting')
    metrics = scraped(await registry.metrics())
    expect(metrics.value('afterward_jobs_handed_back_total', stuckLabels)).toBe(1)
    expect(
      metrics.count('afterward_job_run_duration_seconds', {
        ...stuckLabels,
        outcome: 'handed_back',
      }),
    ).toBe(1)
    expect(metrics.value('afterward_worker_slots_in_use', { queue: 'default' })).toBe(0)
    expect(metrics.series('afterward_jobs_completed_total')).toEqual([])
  })

  it('never counts below zero an attempt that started before it subscribed', async () => {
    const gate = deferred()
    const running = deferred()
    const slow = defineTask({
      name: 'slow',
      run: () => {
        running.resolve()
        return gate.promise
      },
    })
    const afterward = instance({ tasks: [slow], driver: memory() })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(slow, undefined)
    await running.promise
    const registry = new Registry()
    afterwardMetrics({ afterward, registry })
    gate.resolve()
    await afterward.jobs.wait(id)
    const metrics = scraped(await registry.metrics())
    expect(
      metrics.value('afterward_jobs_completed_total', { task: 'slow', queue: 'default' }),
    ).toBe(1)
    expect(metrics.series('afterward_worker_slots_in_use')).toEqual([])
  })
})

describe('afterwardMetrics options', () => {
  const afterward = () => instance({ tasks: [ok], driver: memory() })
  const cases: [string, () => unknown, RegExp][] = [
    ['no options', () => afterwardMetrics(undefined as never), /pass an options object/],
    [
      'no instance',
      () => afterwardMetrics({} as AfterwardMetricsOptions),
      /`afterward` is required: pass the instance made by createAfterward/,
    ],
    [
      'a registry that is not one',
      () => afterwardMetrics({ afterward: afterward(), registry: {} as Registry }),
      /registry must be a prom-client Registry/,
    ],
    [
      'a prefix that is not a metric name',
      () => afterwardMetrics({ afterward: afterward(), prefix: 'my-app_' }),
      /prefix must be a Prometheus metric name ending in '_', such as 'shop_afterward_' \(got "my-app_"\)/,
    ],
    [
      'a prefix without its underscore',
      () => afterwardMetrics({ afterward: afterward(), prefix: 'shop' }),
      /prefix must be a Prometheus metric name ending in '_'/,
    ],
    [
      'buckets that decrease',
      () => afterwardMetrics({ afterward: afterward(), buckets: { runDuration: [1, 0.5] } }),
      /buckets.runDuration must be a non-empty array of increasing positive numbers of seconds/,
    ],
    [
      'empty buckets',
      () => afterwardMetrics({ afterward: afterward(), buckets: { queueWait: [] } }),
      /buckets.queueWait must be a non-empty array/,
    ],
    [
      'an unknown histogram',
      () => afterwardMetrics({ afterward: afterward(), buckets: { runTime: [1] } as never }),
      /buckets.runTime is not a histogram \(buckets: runDuration, queueWait, enqueueDuration\)/,
    ],
    [
      'queue counts that are neither false nor options',
      () => afterwardMetrics({ afterward: afterward(), queueCounts: true as never }),
      /queueCounts must be false \(no queue gauge\) or an object, such as \{ maxAge: 5_000 \}/,
    ],
    [
      'a negative maxAge',
      () => afterwardMetrics({ afterward: afterward(), queueCounts: { maxAge: -1 } }),
      /queueCounts.maxAge must be a number of ms >= 0, such as 5_000 \(got -1\)/,
    ],
  ]
  for (const [name, call, message] of cases) {
    it(`refuses ${name} with AFTERWARD_CONFIG_INVALID`, () => {
      const error = thrown(call)
      expect(error).toBeInstanceOf(AfterwardError)
      expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
      expect((error as Error).message).toMatch(/^afterwardMetrics: /)
      expect((error as Error).message).toMatch(message)
    })
  }

  it('uses the buckets it is given', async () => {
    const a = afterward()
    const registry = new Registry()
    afterwardMetrics({ afterward: a, registry, buckets: { enqueueDuration: [0.5, 60] } })
    await a.enqueue(ok, { n: 1 })
    const buckets = scraped(await registry.metrics()).series(
      'afterward_enqueue_duration_seconds_bucket',
    )
    expect(buckets.map((b) => b.labels.le)).toEqual(['0.5', '60', '+Inf'])
    expect(buckets.map((b) => b.value)).toEqual([1, 1, 1])
  })
})
