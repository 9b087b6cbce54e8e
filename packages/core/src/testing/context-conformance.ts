// The driver suite's tests of ctx.defer (follow-up jobs) and context providers (acquired before and
// released after every attempt). Registered by driverConformance.
import { expect, it } from 'vitest'
import {
  PermanentError,
  defineTask,
  type ContextProvider,
  type Driver,
  type TaskOutcome,
} from '../index.js'
import { deferred, instance } from './support.js'

/** Follow-up jobs of a successful task, and the life of a context around each attempt. */
export function contextTests(makeDriver: () => Driver): void {
  it('enqueues follow-up jobs only when the task succeeds, under the same request id', async () => {
    const child = defineTask({ name: 'child', run: () => undefined })
    const parent = defineTask({
      name: 'parent',
      run(input: { fail: boolean }, ctx) {
        ctx.defer(child, undefined)
        if (input.fail) throw new PermanentError('parent failed')
      },
    })
    const afterward = instance({ tasks: [parent, child], driver: makeDriver() })
    await afterward.worker().start()
    const okScope = afterward.scope({ requestId: 'req-ok' })
    const ok = okScope.defer(parent, { fail: false })
    await okScope.flush()
    const badScope = afterward.scope({ requestId: 'req-bad' })
    const bad = badScope.defer(parent, { fail: true })
    await badScope.flush()
    await afterward.jobs.wait(ok.id)
    await afterward.jobs.wait(bad.id)
    const okJobs = await afterward.jobs.byRequest('req-ok')
    expect(okJobs.map((j) => j.task).sort()).toEqual(['child', 'parent'])
    const childJob = okJobs.find((j) => j.task === 'child')!
    expect((await afterward.jobs.wait(childJob.id)).state).toBe('completed')
    expect((await afterward.jobs.byRequest('req-bad')).map((j) => j.task)).toEqual(['parent'])
  })

  it('acquires before and releases after every attempt, whatever the outcome', async () => {
    const events: string[] = []
    let next = 0
    const provider: ContextProvider<{ n: number }> = {
      setup: ({ concurrency }) => void events.push(`setup:${concurrency}`),
      acquire: () => ({ n: ++next }),
      release: (value, outcome: TaskOutcome) =>
        void events.push(`release:${value.n}:${outcome.status}`),
      teardown: () => void events.push('teardown'),
    }
    const task = defineTask({
      name: 'ctx',
      timeout: 100,
      async run(input: 'ok' | 'throw' | 'hang', ctx) {
        const res = (ctx as unknown as { res: { n: number } }).res
        events.push(`run:${res.n}:${input}`)
        if (input === 'throw') throw new Error('nope')
        if (input === 'hang') await new Promise(() => undefined)
      },
    })
    const afterward = instance({
      tasks: [task],
      driver: makeDriver(),
      context: { res: provider },
    })
    const worker = afterward.worker({ concurrency: 1 })
    await worker.start()
    for (const input of ['ok', 'throw', 'hang'] as const) {
      const { id } = await afterward.enqueue(task, input)
      await afterward.jobs.wait(id)
    }
    await worker.close()
    expect(events).toEqual([
      'setup:1',
      'run:1:ok',
      'release:1:success',
      'run:2:throw',
      'release:2:failure',
      'run:3:hang',
      'release:3:timeout',
      'teardown',
    ])
  })

  it('a hanging acquire is bounded by the timeout, and released when it arrives late', async () => {
    const late = deferred<string>()
    const released = deferred<string>()
    const provider: ContextProvider<string> = {
      acquire: () => late.promise,
      release: (value, outcome) => released.resolve(`${value}:${outcome.status}`),
    }
    const task = defineTask({ name: 'starved', timeout: 100, run: () => undefined })
    const afterward = instance({
      tasks: [task],
      driver: makeDriver(),
      context: { conn: provider },
    })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(task)
    const done = await afterward.jobs.wait(id)
    expect(done.state).toBe('failed')
    expect(done.lastError?.code).toBe('AFTERWARD_TIMEOUT')
    late.resolve('connection-1')
    expect(await released.promise).toBe('connection-1:timeout')
  })

  it('a failing release after success fails the attempt (a commit that failed)', async () => {
    const provider: ContextProvider<null> = {
      acquire: () => null,
      release: (_v, outcome) => {
        if (outcome.status === 'success') throw new Error('commit failed')
      },
    }
    const task = defineTask({ name: 'commit', run: () => undefined })
    const afterward = instance({
      tasks: [task],
      driver: makeDriver(),
      context: { tx: provider },
    })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(task, undefined)
    const done = await afterward.jobs.wait(id)
    expect(done.state).toBe('failed')
    expect(done.lastError).toEqual({
      code: 'AFTERWARD_CONTEXT_FAILED',
      message: "Context 'tx' failed to release: commit failed",
    })
  })
}
