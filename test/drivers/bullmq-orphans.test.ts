// Crash recovery on BullMQ: the jobs of a worker killed with SIGKILL run again on another worker,
// which knows that they were cut off; a long job on a healthy worker keeps its lock and runs once.
// Short locks here (1 s) stand for the defaults (8 s lock, 4 s check) so that the tests stay quick.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { AfterwardError, bullmq, defineTask, memory } from '@afterward/core'
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

describe('bullmq: crash recovery', () => {
  it('runs a killed worker’s job again on another worker, as a redelivery of attempt 1', async () => {
    const prefix = uniqueQueueName('orphans')
    const runs: { attempt: number; redelivered: boolean }[] = []
    const hold = defineTask({
      name: 'hold',
      run: (_input: void, ctx) =>
        void runs.push({ attempt: ctx.job.attempt, redelivered: ctx.job.redelivered }),
    })
    const afterward = instance({ tasks: [hold], driver: bullmq({ connection: redisUrl, prefix }) })
    const { child, started } = await startChildWorker(prefix)
    const { id } = await afterward.enqueue(hold, undefined)
    expect(await started).toBe(id)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    await afterward.worker({ lockDuration: 1_000, stalledInterval: 500 }).start()
    const done = await afterward.jobs.wait(id, { timeout: 20_000 })
    expect(done).toMatchObject({ state: 'completed', attemptsMade: 1 })
    expect(runs).toEqual([{ attempt: 1, redelivered: true }])
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
