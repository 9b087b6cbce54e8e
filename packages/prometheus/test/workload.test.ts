// A scripted workload through real Fastify and Express apps, on memory() and on BullMQ over the
// local Redis, then one scrape of /metrics: every counter and histogram count is exact.
import { onTestFinished, describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { bullmq, defineTask, memory, type Afterward, type Driver } from '@afterward/core'
import { afterwardMetrics } from '@afterward/prometheus'
import { deferred, instance } from '../../../test/support/afterward.js'
import { freePort, redisUrl, uniqueQueueName } from '../../../test/support/redis.js'
import { frameworks, type App, type Route } from './apps.js'
import { scraped } from './scrape.js'

const ok = defineTask({ name: 'ok', run: (_input: { n: number }) => undefined })
const flaky = defineTask({
  name: 'flaky',
  queue: 'flaky-queue',
  retry: { attempts: 3, backoff: { type: 'fixed', delay: 10, jitter: 0 } },
  run(_input: { n: number }) {
    throw new Error('upstream said no')
  },
})

const drivers: { name: string; make: () => Driver }[] = [
  { name: 'memory', make: () => memory() },
  { name: 'bullmq', make: () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') }) },
]

/** Each route answers with the id of the job it deferred. */
const routes: Record<string, Route> = {
  '/ok': (defer) => ({ status: 201, body: { jobId: defer(ok, { n: 1 }).id } }),
  '/flaky': (defer) => ({ status: 201, body: { jobId: defer(flaky, { n: 2 }).id } }),
  '/refused': (defer) => {
    defer(ok, { n: 3 })
    return { status: 422, body: { error: 'invalid' } }
  },
}

async function serve(
  framework: (typeof frameworks)[number],
  afterward: Afterward,
  registry: Registry,
  extra: Record<string, Route> = {},
): Promise<App> {
  const app = await framework.serve(afterward, registry, { ...routes, ...extra })
  onTestFinished(() => app.close())
  return app
}

const jobIdOf = (body: string): string => (JSON.parse(body) as { jobId: string }).jobId

for (const framework of frameworks) {
  for (const driver of drivers) {
    describe(`${framework.name} on ${driver.name}`, () => {
      it('counts a scripted workload exactly: successes, failures after retries, discards', async () => {
        const afterward = instance({ tasks: [ok, flaky], driver: driver.make() })
        const registry = new Registry()
        afterwardMetrics({ afterward, registry })
        await afterward.worker({ concurrency: 4 }).start()
        const app = await serve(framework, afterward, registry)

        const [n, m, k] = [3, 2, 2]
        const ids: string[] = []
        for (let i = 0; i < n; i++) ids.push(jobIdOf((await app.post('/ok')).body))
        for (let i = 0; i < m; i++) ids.push(jobIdOf((await app.post('/flaky')).body))
        for (let i = 0; i < k; i++) expect((await app.post('/refused')).status).toBe(422)
        const states = await Promise.all(
          ids.map(async (id) => (await afterward.jobs.wait(id)).state),
        )
        expect(states).toEqual([...Array(n).fill('completed'), ...Array(m).fill('failed')])

        const response = await app.get('/metrics')
        expect(response.status).toBe(200)
        expect(response.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
        const metrics = scraped(response.body)
        const okLabels = { task: 'ok', queue: 'default' }
        const flakyLabels = { task: 'flaky', queue: 'flaky-queue' }
        const total = (name: string) => metrics.series(name).reduce((sum, s) => sum + s.value, 0)

        expect(metrics.value('afterward_jobs_enqueued_total', okLabels)).toBe(n)
        expect(metrics.value('afterward_jobs_enqueued_total', flakyLabels)).toBe(m)
        expect(metrics.value('afterward_jobs_discarded_total', okLabels)).toBe(k)
        expect(metrics.value('afterward_jobs_completed_total', okLabels)).toBe(n)
        expect(metrics.value('afterward_jobs_retried_total', flakyLabels)).toBe(m * 2)
        expect(metrics.value('afterward_jobs_failed_total', flakyLabels)).toBe(m)
        // Nothing else was counted anywhere.
        expect(total('afterward_jobs_enqueued_total')).toBe(n + m)
        expect(total('afterward_jobs_discarded_total')).toBe(k)
        expect(total('afterward_jobs_completed_total')).toBe(n)
        expect(total('afterward_jobs_retried_total')).toBe(m * 2)
        expect(total('afterward_jobs_failed_total')).toBe(m)
        expect(metrics.series('afterward_jobs_enqueue_failures_total')).toEqual([])
        expect(metrics.series('afterward_jobs_deduplicated_total')).toEqual([])
        expect(metrics.series('afterward_jobs_handed_back_total')).toEqual([])
        expect(metrics.series('afterward_jobs_stalled_total')).toEqual([])

        const run = 'afterward_job_run_duration_seconds'
        expect(metrics.count(run, { ...okLabels, outcome: 'completed' })).toBe(n)
        expect(metrics.count(run, { ...flakyLabels, outcome: 'retried' })).toBe(m * 2)
        expect(metrics.count(run, { ...flakyLabels, outcome: 'failed' })).toBe(m)
        expect(metrics.series(`${run}_count`)).toHaveLength(3)
        // Queue wait: first attempts only (later ones waited for their backoff, not a worker).
        expect(metrics.count('afterward_job_queue_wait_seconds', okLabels)).toBe(n)
        expect(metrics.count('afterward_job_queue_wait_seconds', flakyLabels)).toBe(m)
        expect(metrics.count('afterward_enqueue_duration_seconds', okLabels)).toBe(n)
        expect(metrics.count('afterward_enqueue_duration_seconds', flakyLabels)).toBe(m)
        expect(metrics.value('afterward_enqueue_duration_seconds_sum', okLabels)).toBeGreaterThan(0)

        expect(metrics.value('afterward_worker_slots_in_use', { queue: 'default' })).toBe(0)
        expect(metrics.value('afterward_worker_slots_in_use', { queue: 'flaky-queue' })).toBe(0)
        // What the broker holds now, per queue and state: the failed jobs, nothing else live.
        const queueJobs = Object.fromEntries(
          metrics
            .series('afterward_queue_jobs')
            .map((s) => [`${s.labels.queue} ${s.labels.state}`, s.value]),
        )
        expect(queueJobs).toEqual({
          'default waiting': 0,
          'default delayed': 0,
          'default active': 0,
          'default failed': 0,
          'flaky-queue waiting': 0,
          'flaky-queue delayed': 0,
          'flaky-queue active': 0,
          'flaky-queue failed': m,
        })
        // Bounded labels: task, queue, outcome and state names only, never a job or request id.
        const labelNames = new Set(metrics.samples.flatMap((s) => Object.keys(s.labels)))
        expect([...labelNames].sort()).toEqual(['le', 'outcome', 'queue', 'state', 'task'])
        for (const id of ids) expect(response.body).not.toContain(id)
      })

      it('shows the worker slots in use while jobs run', async () => {
        const gate = deferred()
        const slow = defineTask({ name: 'slow', run: (_input: { n: number }) => gate.promise })
        const afterward = instance({ tasks: [slow], driver: driver.make() })
        const registry = new Registry()
        afterwardMetrics({ afterward, registry })
        const twoStarted = deferred()
        let started = 0
        afterward.on('started', () => {
          if (++started === 2) twoStarted.resolve()
        })
        await afterward.worker({ concurrency: 3 }).start()
        const app = await serve(framework, afterward, registry, {
          '/slow': (defer) => ({ status: 201, body: { jobId: defer(slow, { n: 1 }).id } }),
        })
        const ids = [
          jobIdOf((await app.post('/slow')).body),
          jobIdOf((await app.post('/slow')).body),
        ]
        await twoStarted.promise
        const during = scraped((await app.get('/metrics')).body)
        expect(during.value('afterward_worker_slots_in_use', { queue: 'default' })).toBe(2)
        gate.resolve()
        await Promise.all(ids.map((id) => afterward.jobs.wait(id)))
        const after = scraped((await app.get('/metrics')).body)
        expect(after.value('afterward_worker_slots_in_use', { queue: 'default' })).toBe(0)
        expect(
          after.value('afterward_jobs_completed_total', { task: 'slow', queue: 'default' }),
        ).toBe(2)
      })
    })
  }

  it(`counts jobs the broker did not store, answered with 503 (${framework.name})`, async () => {
    const afterward = instance({
      tasks: [ok, flaky],
      driver: bullmq({ connection: `redis://127.0.0.1:${await freePort()}` }),
      enqueueTimeout: 400,
    })
    const registry = new Registry()
    afterwardMetrics({ afterward, registry })
    const app = await serve(framework, afterward, registry)
    expect((await app.post('/ok')).status).toBe(503)
    expect((await app.post('/flaky')).status).toBe(503)
    expect((await app.post('/refused')).status).toBe(422)
    const metrics = scraped((await app.get('/metrics')).body)
    expect(
      metrics.value('afterward_jobs_enqueue_failures_total', { task: 'ok', queue: 'default' }),
    ).toBe(1)
    expect(
      metrics.value('afterward_jobs_enqueue_failures_total', {
        task: 'flaky',
        queue: 'flaky-queue',
      }),
    ).toBe(1)
    expect(metrics.value('afterward_jobs_discarded_total', { task: 'ok', queue: 'default' })).toBe(
      1,
    )
    expect(metrics.series('afterward_jobs_enqueued_total')).toEqual([])
    expect(metrics.series('afterward_enqueue_duration_seconds_count')).toEqual([])
  })
}
