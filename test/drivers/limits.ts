// Task limits (`limit`, `rate`, `ctx.retryAfter`), run against every driver: two workers of
// concurrency 10 each (in this process for memory(), two worker processes for BullMQ), with the
// measured maxima printed. Runs report to a probe on the local Redis (fixtures/limit-tasks.ts).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import {
  ErrorCode,
  RetryAfterError,
  defineTask,
  memory,
  type Afterward,
  type Driver,
} from '@afterward/core'
import { bullmq, type BullmqDriverOptions } from '@afterward/core/bullmq'
import { deferred, instance } from '../support/afterward.js'
import { redisUrl, uniqueQueueName } from '../support/redis.js'
import { Probe, limitTasks } from './fixtures/limit-tasks.js'

const workerFixture = fileURLToPath(new URL('./fixtures/limit-worker.ts', import.meta.url))

/** memory(), or bullmq() with options that worker processes can be given as JSON. */
export type LimitTarget =
  { kind: 'memory' } | { kind: 'bullmq'; options: () => BullmqDriverOptions }

async function startProcess(options: BullmqDriverOptions, lockDuration?: number) {
  const args = [redisUrl, JSON.stringify(options), ...(lockDuration ? [String(lockDuration)] : [])]
  const child = fork(workerFixture, args, {
    execArgv: ['--import', 'tsx', '--conditions=source'],
    env: { ...process.env, AFTERWARD_LIMIT_WORKER: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  onTestFinished(() => void child.kill('SIGKILL'))
  const ready = deferred()
  child.on('message', (m: { type: string }) => m.type === 'ready' && ready.resolve())
  child.once('exit', (code) => ready.reject(new Error(`limit worker exited with ${code}`)))
  await ready.promise
  return child
}

/** Waits for each job in turn: one listener at a time, however many jobs. */
async function waitAll(afterward: Afterward, ids: { id: string }[], timeout = 30_000) {
  const done = []
  for (const { id } of ids) done.push(await afterward.jobs.wait(id, { timeout }))
  return done
}

export function limitConformance(name: string, target: LimitTarget): void {
  describe(`task limits: ${name}`, () => {
    const probes: Probe[] = []
    afterEach(async () => {
      await Promise.all(probes.splice(0).map((p) => p.close()))
    })

    /** An instance with the limited tasks, and two workers of concurrency 10 on its broker. */
    async function deployment() {
      const probe = new Probe(redisUrl)
      probes.push(probe)
      const tasks = limitTasks(probe)
      if (target.kind === 'memory') {
        const afterward = instance({ tasks, driver: memory() })
        await Promise.all([
          afterward.worker({ concurrency: 10 }).start(),
          afterward.worker({ concurrency: 10 }).start(),
        ])
        return { afterward, probe, tasks, key: uniqueQueueName('probe') }
      }
      const options = target.options()
      const afterward = instance({ tasks, driver: bullmq(options) })
      await Promise.all([startProcess(options), startProcess(options)])
      return { afterward, probe, tasks, key: uniqueQueueName('probe') }
    }

    it('never runs more than 3 of a task limited to 3', async () => {
      const { afterward, probe, tasks, key } = await deployment()
      const [limitedToThree] = tasks
      const ids = await Promise.all(
        Array.from({ length: 30 }, () => afterward.enqueue(limitedToThree, { probe: key })),
      )
      const done = await waitAll(afterward, ids)
      const max = await probe.max(key)
      console.log(`[${name}] limit { concurrency: 3 }: at most ${max} running at once (30 jobs)`)
      expect(max).toBe(3)
      // Held back, never failed nor charged an attempt.
      expect(done.every((j) => j.state === 'completed' && j.attemptsMade === 1)).toBe(true)
    })

    it('runs one job per key at a time, and other keys in parallel', async () => {
      const { afterward, probe, tasks, key } = await deployment()
      const [, onePerTenant] = tasks
      const tenants = ['acme', 'globex', 'initech', 'umbrella']
      const ids = await Promise.all(
        tenants.flatMap((tenant) =>
          Array.from({ length: 5 }, () => afterward.enqueue(onePerTenant, { probe: key, tenant })),
        ),
      )
      const done = await waitAll(afterward, ids)
      const perTenant = await Promise.all(tenants.map((t) => probe.max(`${key}:${t}`)))
      const overall = await probe.max(key)
      console.log(
        `[${name}] limit { key, concurrency: 1 }: at most ${Math.max(...perTenant)} running per tenant, ${overall} running at once across the 4 tenants`,
      )
      expect(perTenant).toEqual([1, 1, 1, 1])
      expect(overall).toBeGreaterThanOrEqual(2)
      expect(done.every((j) => j.state === 'completed' && j.attemptsMade === 1)).toBe(true)
    })

    it('starts at most 10 in any one-second window at a rate of 10/s, over 5 s', async () => {
      const { afterward, probe, tasks, key } = await deployment()
      const [, , tenPerSecond] = tasks
      const ids = await Promise.all(
        Array.from({ length: 50 }, () => afterward.enqueue(tenPerSecond, { probe: key })),
      )
      await waitAll(afterward, ids)
      const starts = await probe.starts(key)
      expect(starts).toHaveLength(50)
      // Every window [t, t + 1 s) that opens at a start: the busiest windows all begin at one.
      const inWindow = starts.map((t) => starts.filter((s) => s >= t && s < t + 1_000).length)
      const max = Math.max(...inWindow)
      const span = starts.at(-1)! - starts[0]!
      console.log(
        `[${name}] rate { max: 10, per: 1 s }: at most ${max} starts in any 1 s window, 50 starts over ${span} ms`,
      )
      expect(max).toBe(10)
      expect(span).toBeGreaterThanOrEqual(4_000)
    })

    // The rest runs with one worker in this process: it is about single jobs.
    function local(tasks: Parameters<typeof instance>[0]['tasks']): Afterward {
      const driver: Driver = target.kind === 'memory' ? memory() : bullmq(target.options())
      return instance({ tasks, driver })
    }

    it('a held-back job leaves its worker slot free for other jobs', async () => {
      const release = deferred()
      const firstRunning = deferred()
      const exclusive = defineTask({
        name: 'exclusive',
        limit: { concurrency: 1 },
        async run(input: { n: number }) {
          if (input.n === 1) {
            firstRunning.resolve()
            await release.promise
          }
        },
      })
      const other = defineTask({ name: 'other', run: () => undefined })
      const afterward = local([exclusive, other])
      const startedIds: string[] = []
      afterward.on('started', (e) => void startedIds.push(e.jobId))
      await afterward.worker({ concurrency: 2 }).start()
      const first = await afterward.enqueue(exclusive, { n: 1 })
      await firstRunning.promise
      const second = await afterward.enqueue(exclusive, { n: 2 })
      // With both slots taken (one running, one blocked by the limit), this would never run.
      const { id } = await afterward.enqueue(other, undefined)
      expect(await afterward.jobs.wait(id)).toMatchObject({ state: 'completed' })
      const held = await afterward.jobs.get(second.id)
      expect(['waiting', 'delayed']).toContain(held?.state)
      expect(held?.attemptsMade).toBe(0)
      release.resolve()
      expect(await afterward.jobs.wait(first.id)).toMatchObject({ state: 'completed' })
      expect(await afterward.jobs.wait(second.id)).toMatchObject({
        state: 'completed',
        attemptsMade: 1,
      })
      // However often it was held back, the job started once: holds are not starts.
      expect(startedIds.filter((id) => id === second.id)).toHaveLength(1)
    })

    if (target.kind === 'bullmq') {
      it('frees the slot of a worker process that died, within its lease', async () => {
        const options = target.options()
        const probe = new Probe(redisUrl)
        probes.push(probe)
        const tasks = limitTasks(probe)
        const exclusive = tasks[3]
        const afterward = instance({ tasks, driver: bullmq(options) })
        const child = await startProcess(options, 1_000)
        const started = deferred<string>()
        child.on('message', (m: { type: string; jobId?: string }) => {
          if (m.type === 'started') started.resolve(m.jobId!)
        })
        const hung = await afterward.enqueue(exclusive, { hang: true })
        expect(await started.promise).toBe(hung.id)
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
        // The killed job is not run again here (maxStalledCount: 0 fails it once found stalled),
        // so nothing releases its slot: only the dead worker's lease (1 s) running out lets
        // the next job of the task start.
        const next = await afterward.enqueue(exclusive, { hang: false })
        await afterward
          .worker({ lockDuration: 1_000, stalledInterval: 500, maxStalledCount: 0 })
          .start()
        expect(await afterward.jobs.wait(next.id, { timeout: 20_000 })).toMatchObject({
          state: 'completed',
          attemptsMade: 1,
        })
        expect(await afterward.jobs.wait(hung.id, { timeout: 20_000 })).toMatchObject({
          state: 'failed',
        })
      })
    }

    it('ctx.retryAfter(ms) and a thrown RetryAfterError run the job again without spending an attempt', async () => {
      const runs: { n: number; attempt: number; redelivered: boolean; at: number }[] = []
      const upstream = defineTask({
        name: 'upstream',
        retry: { attempts: 1 },
        run(input: { n: number }, ctx) {
          runs.push({
            n: input.n,
            attempt: ctx.job.attempt,
            redelivered: ctx.job.redelivered,
            at: Date.now(),
          })
          if (runs.filter((r) => r.n === input.n).length === 1) {
            if (input.n === 1) ctx.retryAfter(200)
            throw new RetryAfterError(200, 'HTTP 429 from the upstream')
          }
        },
      })
      const afterward = local([upstream])
      await afterward.worker().start()
      const jobs = await Promise.all([
        afterward.enqueue(upstream, { n: 1 }),
        afterward.enqueue(upstream, { n: 2 }),
      ])
      for (const { id } of jobs) {
        expect(await afterward.jobs.wait(id)).toMatchObject({
          state: 'completed',
          attemptsMade: 1,
          maxAttempts: 1,
        })
      }
      for (const n of [1, 2]) {
        const mine = runs.filter((r) => r.n === n)
        expect(mine.map((r) => [r.attempt, r.redelivered])).toEqual([
          [1, false],
          [1, false],
        ])
        expect(mine[1]!.at - mine[0]!.at).toBeGreaterThanOrEqual(190)
      }
    })

    it('fails a job without retries when its key function throws or returns no string', async () => {
      const keyed = defineTask({
        name: 'keyed',
        retry: { attempts: 3 },
        limit: {
          concurrency: 1,
          key: (input: { tenant?: unknown }) => {
            if (input.tenant === undefined) throw new Error('no tenant in input')
            return input.tenant as string
          },
        },
        run: () => undefined,
      })
      const afterward = local([keyed])
      await afterward.worker().start()
      const throws = await afterward.enqueue(keyed, {})
      const number = await afterward.enqueue(keyed, { tenant: 42 })
      const empty = await afterward.enqueue(keyed, { tenant: '' })
      const fine = await afterward.enqueue(keyed, { tenant: 'acme' })
      expect(await afterward.jobs.wait(throws.id)).toMatchObject({
        state: 'failed',
        attemptsMade: 1,
        lastError: {
          code: ErrorCode.LIMIT_KEY_INVALID,
          message: expect.stringMatching(/limit\.key threw \(no tenant in input\)/),
        },
      })
      expect(await afterward.jobs.wait(number.id)).toMatchObject({
        state: 'failed',
        attemptsMade: 1,
        lastError: {
          code: ErrorCode.LIMIT_KEY_INVALID,
          message: expect.stringMatching(/must return a non-empty string .*got number 42/),
        },
      })
      expect(await afterward.jobs.wait(empty.id)).toMatchObject({
        state: 'failed',
        lastError: { message: expect.stringMatching(/got an empty string/) },
      })
      expect(await afterward.jobs.wait(fine.id)).toMatchObject({ state: 'completed' })
    })
  })
}
