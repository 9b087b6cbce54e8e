// Crash recovery on BullMQ: the jobs of a worker killed with SIGKILL run again on another worker,
// which knows that they were cut off and reports the stall (event, log line, metric), or fails
// them once they stalled too often; a long job on a healthy worker keeps its lock and runs once.
// Short locks here (1 s) stand for the defaults (8 s lock, 4 s check) so that the tests stay quick.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  AfterwardError,
  ErrorCode,
  bullmq,
  defineTask,
  memory,
  type Afterward,
} from '@afterward/core'
import { afterwardMetrics } from '@afterward/prometheus'
import { deferred, instance, thrown } from '../support/afterward.js'
import { redisUrl, uniqueQueueName } from '../support/redis.js'

const fixture = fileURLToPath(new URL('./fixtures/orphan-worker.ts', import.meta.url))

/** Starts the fixture worker; resolves once it takes jobs. */
async function startChildWorker(prefix: string) {
  const child = fork(fixture, [redisUrl, prefix, '1000', '500'], {
    execArgv: ['--import', 'tsx', '--conditions=source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  onTestFinished(() => void child.kill('SIGKILL'))
  const started = deferred<string>()
  const ready = deferred()
  child.on('message', (m: { type: string; jobId?: string }) => {
    if (m.type === 'ready') ready.resolve()
    if (m.type === 'started') started.resolve(m.jobId!)
  })
  child.once('exit', (code) => ready.reject(new Error(`worker exited with ${code}`)))
  await ready.promise
  return { child, started: started.promise }
}

const WARN = 40
const ERROR = 50

/** A logger at warn whose lines the test reads. */
function capturing(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) })
  return { logger, lines }
}

/** The `stalled` and `failed` events, and the `started` events of redelivered runs, in order. */
function recordStalls(afterward: Afterward): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = []
  afterward.on('stalled', (e) => void seen.push({ name: 'stalled', ...e }))
  afterward.on('failed', (e) => void seen.push({ name: 'failed', ...e }))
  afterward.on('started', ({ jobId, task, queue, requestId, attempt, redelivered }) => {
    if (redelivered)
      seen.push({ name: 'started', jobId, task, queue, requestId, attempt, redelivered })
  })
  return seen
}

describe('bullmq: crash recovery', () => {
  it('runs a killed worker’s job again on another worker, as a redelivery of attempt 1, and reports the stall', async () => {
    const prefix = uniqueQueueName('orphans')
    const runs: { attempt: number; redelivered: boolean }[] = []
    const hold = defineTask({
      name: 'hold',
      run: (_input: void, ctx) =>
        void runs.push({ attempt: ctx.job.attempt, redelivered: ctx.job.redelivered }),
    })
    const { logger, lines } = capturing()
    const afterward = instance({
      tasks: [hold],
      driver: bullmq({ connection: redisUrl, prefix }),
      logger,
    })
    const events = recordStalls(afterward)
    const metrics = afterwardMetrics({ afterward, prefix: 'orphans_test_', queueCounts: false })
    onTestFinished(() => metrics.close())
    const { child, started } = await startChildWorker(prefix)
    const scope = afterward.scope({ requestId: 'req-orphan' })
    const { id } = scope.defer(hold, undefined)
    await scope.flush()
    expect(await started).toBe(id)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    await afterward.worker({ lockDuration: 1_000, stalledInterval: 500 }).start()
    const done = await afterward.jobs.wait(id, { timeout: 20_000 })
    expect(done).toMatchObject({ state: 'completed', attemptsMade: 1 })
    expect(runs).toEqual([{ attempt: 1, redelivered: true }])

    // The worker that found the job stalled said so (event, warn line, metric), and the run
    // that recovered it is marked redelivered.
    const job = { jobId: id, task: 'hold', queue: 'default', requestId: 'req-orphan' }
    // The stalled job is read before it is reported: the run that recovers it may start first.
    await expect.poll(() => events.map((e) => e.name).sort()).toEqual(['stalled', 'started'])
    expect(events).toEqual(
      expect.arrayContaining([
        { name: 'stalled', ...job, attempt: 1, trace: undefined, willRun: true },
        { name: 'started', ...job, attempt: 1, redelivered: true },
      ]),
    )
    expect(lines.filter((l) => String(l.msg).startsWith('job stalled'))).toEqual([
      expect.objectContaining({ level: WARN, ...job, attempt: 1, maxStalledCount: 1 }),
    ])
    const text = await metrics.registry.metrics()
    expect(text).toContain('orphans_test_jobs_stalled_total{task="hold",queue="default"} 1\n')
  })

  it('fails a job for good, without running it, once it stalled more than maxStalledCount times', async () => {
    const prefix = uniqueQueueName('orphans-limit')
    let runs = 0
    const hold = defineTask({ name: 'hold', run: () => void runs++ })
    const { logger, lines } = capturing()
    const afterward = instance({
      tasks: [hold],
      driver: bullmq({ connection: redisUrl, prefix }),
      logger,
    })
    const events = recordStalls(afterward)
    const metrics = afterwardMetrics({ afterward, prefix: 'orphans_limit_', queueCounts: false })
    onTestFinished(() => metrics.close())
    const { child, started } = await startChildWorker(prefix)
    const { id } = await afterward.enqueue(hold, undefined)
    expect(await started).toBe(id)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    const worker = afterward.worker({
      lockDuration: 1_000,
      stalledInterval: 500,
      maxStalledCount: 0,
    })
    await worker.start()
    const done = await afterward.jobs.wait(id, { timeout: 20_000 })
    expect(done).toMatchObject({
      state: 'failed',
      lastError: { message: 'job stalled more than allowable limit' },
    })
    expect(runs).toBe(0)
    // Reported as stalled (not to run again), and as failed for good when a worker took it.
    await expect.poll(() => events.map((e) => e.name).sort()).toEqual(['failed', 'stalled'])
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'stalled', jobId: id, attempt: 1, willRun: false }),
        expect.objectContaining({ name: 'failed', jobId: id, attempt: 1, durationMs: 0 }),
      ]),
    )
    expect(events.find((e) => e.name === 'failed')?.error).toMatchObject({
      code: ErrorCode.STALLED,
    })
    const byLevel = lines.map((l) => [l.level, l.msg, l.jobId] as [number, string, string])
    expect(byLevel.sort((a, b) => a[0] - b[0])).toEqual([
      [WARN, expect.stringMatching(/^job stalled more than maxStalledCount times/), id],
      [ERROR, 'job failed for good', id],
    ])
    // Counted as stalled and as failed; no attempt ran, so no run duration was observed.
    const text = await metrics.registry.metrics()
    const labels = '{task="hold",queue="default"}'
    expect(text).toContain(`orphans_limit_jobs_stalled_total${labels} 1\n`)
    expect(text).toContain(`orphans_limit_jobs_failed_total${labels} 1\n`)
    expect(text).not.toContain('orphans_limit_job_run_duration_seconds_count{')
  })

  it('keeps the lock of a job that runs many lock durations on a healthy worker: it runs once', async () => {
    const prefix = uniqueQueueName('long')
    let runs = 0
    const long = defineTask({
      name: 'long',
      async run() {
        runs++
        // Six lock durations, while two workers check for stalled jobs every 250 ms.
        await new Promise((resolve) => setTimeout(resolve, 3_000))
      },
    })
    const afterward = instance({ tasks: [long], driver: bullmq({ connection: redisUrl, prefix }) })
    const settings = { lockDuration: 500, stalledInterval: 250 }
    await afterward.worker(settings).start()
    await afterward.worker(settings).start()
    const { id } = await afterward.enqueue(long, undefined)
    expect(await afterward.jobs.wait(id, { timeout: 20_000 })).toMatchObject({
      state: 'completed',
      attemptsMade: 1,
    })
    expect(runs).toBe(1)
  })

  it('refuses lock and stall settings that cannot work', () => {
    const afterward = instance({ tasks: [], driver: memory() })
    for (const options of [
      { lockDuration: 0 },
      { stalledInterval: -1 },
      { lockDuration: Number.NaN },
      { maxStalledCount: 1.5 },
    ]) {
      const error = thrown(() => afterward.worker(options))
      expect(error).toBeInstanceOf(AfterwardError)
      expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
      expect((error as Error).message).toContain(Object.keys(options)[0])
    }
  })
})
