// memory() only: its queue structures at sizes the conformance suite does not reach (priority
// lanes over many jobs, keepFinished eviction, drain() and waiters under load).
import { describe, expect, it } from 'vitest'
import { defineTask, memory, type Priority } from '@afterward/core'
import { deferred, instance } from '../support/afterward.js'

const PRIORITIES: Priority[] = ['high', 'normal', 'low']

describe('memory() queues', () => {
  it('runs many jobs high before normal before low, FIFO within each, across scopes', async () => {
    const order: number[] = []
    const task = defineTask({ name: 'ranked-many', run: (input: number) => void order.push(input) })
    const afterward = instance({ tasks: [task], driver: memory() })
    const priorityOf = (i: number): Priority => PRIORITIES[(i * 7) % 3]!
    for (let i = 0; i < 3_000; i += 100) {
      const scope = afterward.scope()
      for (let j = i; j < i + 100; j++) scope.defer(task, j, { priority: priorityOf(j) })
      await scope.flush()
    }
    const worker = afterward.worker({ concurrency: 1 })
    await worker.start()
    await afterward.jobs.wait((await afterward.enqueue(task, -1, { priority: 'low' })).id)
    const expected = PRIORITIES.flatMap((p) =>
      Array.from({ length: 3_000 }, (_, i) => i).filter((i) => priorityOf(i) === p),
    )
    expect(order).toEqual([...expected, -1])
  })

  it('takes the high job of a batch first even when a worker is idle', async () => {
    const order: string[] = []
    const task = defineTask({
      name: 'batch-ranked',
      run: (input: string) => void order.push(input),
    })
    const afterward = instance({ tasks: [task], driver: memory() })
    await afterward.worker({ concurrency: 1 }).start()
    const scope = afterward.scope()
    const ids = [
      scope.defer(task, 'low', { priority: 'low' }),
      scope.defer(task, 'normal'),
      scope.defer(task, 'high', { priority: 'high' }),
    ].map((job) => job.id)
    await scope.flush()
    await Promise.all(ids.map((id) => afterward.jobs.wait(id)))
    expect(order).toEqual(['high', 'normal', 'low'])
  })

  it('a retried job goes behind the jobs of its priority that wait already', async () => {
    const order: string[] = []
    const task = defineTask({
      name: 'retry-lane',
      retry: { attempts: 2, backoff: { type: 'fixed', delay: 0, jitter: 0 } },
      run(input: string, ctx) {
        order.push(`${input}#${ctx.job.attempt}`)
        if (input === 'a' && ctx.job.attempt === 1) throw new Error('once')
      },
    })
    const afterward = instance({ tasks: [task], driver: memory() })
    const scope = afterward.scope()
    const ids = ['a', 'b', 'c'].map((input) => scope.defer(task, input).id)
    ids.push(scope.defer(task, 'low', { priority: 'low' }).id)
    await scope.flush()
    await afterward.worker({ concurrency: 1 }).start()
    await Promise.all(ids.map((id) => afterward.jobs.wait(id)))
    expect(order).toEqual(['a#1', 'b#1', 'c#1', 'a#2', 'low#1'])
  })

  it('keeps only the last keepFinished finished jobs, in jobs.get, byRequest and wait', async () => {
    const task = defineTask({ name: 'kept', run: (_input: number) => undefined })
    const driver = memory({ keepFinished: 10 })
    const afterward = instance({ tasks: [task], driver })
    const ids: string[] = []
    // More than the 1,024 ids after which the retention queue compacts itself.
    for (let i = 0; i < 2_500; i += 250) {
      const scope = afterward.scope({ requestId: `req-${i / 250}` })
      for (let j = i; j < i + 250; j++) ids.push(scope.defer(task, j).id)
      await scope.flush()
    }
    await afterward.worker({ concurrency: 1 }).start()
    await driver.drain()
    const kept = await Promise.all(ids.map((id) => afterward.jobs.get(id)))
    expect(kept.slice(0, -10).every((job) => job === undefined)).toBe(true)
    expect(kept.slice(-10).map((job) => job?.input)).toEqual(
      Array.from({ length: 10 }, (_, i) => 2_490 + i),
    )
    expect(await afterward.jobs.byRequest('req-0')).toEqual([])
    expect((await afterward.jobs.byRequest('req-9')).map((job) => job.input)).toEqual(
      Array.from({ length: 10 }, (_, i) => 2_490 + i),
    )
    await expect(afterward.jobs.wait(ids[0]!)).rejects.toMatchObject({
      code: 'AFTERWARD_JOB_NOT_FOUND',
    })
  })

  it('drain() waits for thousands of jobs, including the follow-ups they defer', async () => {
    const seen = new Set<number>()
    const child = defineTask({ name: 'drain-child', run: (input: number) => void seen.add(input) })
    const parent = defineTask({
      name: 'drain-parent',
      run(input: number, ctx) {
        seen.add(input)
        if (input % 10 === 0) ctx.defer(child, -input - 1)
      },
    })
    const driver = memory()
    const afterward = instance({ tasks: [parent, child], driver })
    for (let i = 0; i < 5_000; i += 500) {
      const scope = afterward.scope()
      for (let j = i; j < i + 500; j++) scope.defer(parent, j)
      await scope.flush()
    }
    await afterward.worker({ concurrency: 50 }).start()
    // Two drains at once: both settle when the last job has.
    await Promise.all([driver.drain(), driver.drain()])
    expect(seen.size).toBe(5_500)
    await driver.drain() // and one when nothing is left resolves at once
  })

  it('every waiter of a job is told, and one that timed out does not hold the others', async () => {
    const gate = deferred()
    const task = defineTask({ name: 'awaited', run: () => gate.promise })
    const afterward = instance({ tasks: [task], driver: memory() })
    const { id } = await afterward.enqueue(task)
    await expect(afterward.jobs.wait(id, { timeout: 1 })).rejects.toMatchObject({
      code: 'AFTERWARD_WAIT_TIMEOUT',
    })
    const waits = [afterward.jobs.wait(id), afterward.jobs.wait(id)]
    await afterward.worker().start()
    gate.resolve()
    const done = await Promise.all(waits)
    expect(done.map((job) => job.state)).toEqual(['completed', 'completed'])
  })

  it('runs more jobs at once than an AbortSignal has listeners by default, without a warning', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const gate = deferred()
      let running = 0
      const allRunning = deferred()
      const task = defineTask({
        name: 'wide',
        async run() {
          if (++running === 30) allRunning.resolve()
          await gate.promise
        },
      })
      const driver = memory()
      const afterward = instance({ tasks: [task], driver })
      const scope = afterward.scope()
      for (let i = 0; i < 30; i++) scope.defer(task)
      await scope.flush()
      await afterward.worker({ concurrency: 30 }).start()
      await allRunning.promise
      gate.resolve()
      await driver.drain()
      await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on a later tick
      expect(warnings.map((w) => w.message)).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })
})
