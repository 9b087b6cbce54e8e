// afterward_queue_jobs: the broker's counts per queue and state, read at scrape time through
// afterward.jobs.counts(), at most once per maxAge.
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it, vi } from 'vitest'
import { PermanentError, bullmq, defineTask, memory, type Driver } from '@afterward/core'
import { afterwardMetrics } from '@afterward/prometheus'
import { deferred, instance } from '../../../test/support/afterward.js'
import { freePort, redisUrl, uniqueQueueName } from '../../../test/support/redis.js'
import { scraped } from './scrape.js'

const drivers: { name: string; make: () => Driver }[] = [
  { name: 'memory', make: () => memory() },
  { name: 'bullmq', make: () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') }) },
]

const noop = defineTask({ name: 'noop', queue: 'idle', run: () => undefined })

/** The gauge's samples as `{ 'queue state': count }`. */
async function queueJobs(registry: Registry): Promise<Record<string, number>> {
  const samples = scraped(await registry.metrics()).series('afterward_queue_jobs')
  return Object.fromEntries(samples.map((s) => [`${s.labels.queue} ${s.labels.state}`, s.value]))
}

for (const driver of drivers) {
  it(`reports waiting, delayed, active and failed jobs per queue (${driver.name})`, async () => {
    const gate = deferred()
    const running = deferred()
    const held = defineTask({
      name: 'held',
      queue: 'busy',
      run: () => {
        running.resolve()
        return gate.promise
      },
    })
    const broken = defineTask({
      name: 'broken',
      queue: 'busy',
      run() {
        throw new PermanentError('cannot')
      },
    })
    const afterward = instance({ tasks: [held, broken, noop], driver: driver.make() })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry })
    await afterward.worker({ queues: ['busy'], concurrency: 1 }).start()
    const { id: brokenId } = await afterward.enqueue(broken, undefined)
    expect((await afterward.jobs.wait(brokenId)).state).toBe('failed')
    await afterward.enqueue(held, undefined)
    await running.promise
    // Nothing works on 'idle': two jobs wait, one is held back by its delay.
    await afterward.enqueue(noop, undefined)
    await afterward.enqueue(noop, undefined)
    await afterward.enqueue(noop, undefined, { delay: 60_000 })

    expect(await queueJobs(registry)).toEqual({
      'busy waiting': 0,
      'busy delayed': 0,
      'busy active': 1,
      'busy failed': 1,
      'idle waiting': 2,
      'idle delayed': 1,
      'idle active': 0,
      'idle failed': 0,
    })
    gate.resolve()
  })
}

describe('afterward_queue_jobs cost', () => {
  it('asks the broker at most once per maxAge, however many scrapes come', async () => {
    const afterward = instance({ tasks: [noop], driver: memory() })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry, queueCounts: { maxAge: 60_000 } })
    const counts = vi.spyOn(afterward.jobs, 'counts')
    await afterward.enqueue(noop, undefined)
    // Concurrent scrapes share one call.
    await Promise.all([registry.metrics(), registry.metrics(), registry.metrics()])
    expect(counts).toHaveBeenCalledTimes(1)
    await afterward.enqueue(noop, undefined)
    // Within maxAge: the answer already read, without asking again.
    expect((await queueJobs(registry))['idle waiting']).toBe(1)
    expect(counts).toHaveBeenCalledTimes(1)
  })

  it('reads fresh counts on every scrape with maxAge 0', async () => {
    const afterward = instance({ tasks: [noop], driver: memory() })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry, queueCounts: { maxAge: 0 } })
    const counts = vi.spyOn(afterward.jobs, 'counts')
    await afterward.enqueue(noop, undefined)
    expect((await queueJobs(registry))['idle waiting']).toBe(1)
    await afterward.enqueue(noop, undefined)
    expect((await queueJobs(registry))['idle waiting']).toBe(2)
    expect(counts).toHaveBeenCalledTimes(2)
  })

  it('is left out, never asked for, with queueCounts: false', async () => {
    const afterward = instance({ tasks: [noop], driver: memory() })
    const registry = new Registry()
    const metrics = afterwardMetrics({ afterward, registry, queueCounts: false })
    const counts = vi.spyOn(afterward.jobs, 'counts')
    await afterward.enqueue(noop, undefined)
    const text = await registry.metrics()
    expect(text).not.toContain('afterward_queue_jobs')
    expect(metrics.names).not.toContain('afterward_queue_jobs')
    expect(
      scraped(text).value('afterward_jobs_enqueued_total', { task: 'noop', queue: 'idle' }),
    ).toBe(1)
    expect(counts).not.toHaveBeenCalled()
  })

  it('leaves the gauge out when the broker cannot be read, logs why, and does not ask again within maxAge', async () => {
    const lines: { level: number; msg: string; err?: { message: string } }[] = []
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void lines.push(JSON.parse(line)) },
    )
    const afterward = instance({
      tasks: [noop],
      driver: bullmq({ connection: `redis://127.0.0.1:${await freePort()}` }),
      logger,
    })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry })
    const counts = vi.spyOn(afterward.jobs, 'counts')
    const metrics = scraped(await registry.metrics())
    // The scrape still answers, with every other metric.
    expect(metrics.series('afterward_queue_jobs')).toEqual([])
    expect(await registry.metrics()).toContain('# TYPE afterward_jobs_enqueued_total counter')
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'could not read the queue counts for the metrics; the gauge is left out until they can be read',
        err: expect.objectContaining({ message: expect.any(String) }),
      }),
    )
    expect(counts).toHaveBeenCalledTimes(1)
  })
})
