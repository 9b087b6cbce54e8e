// The driver suite's tests of shutdown: the grace period, a close() during start(), follow-ups
// deferred while closing, and jobs handed back when the grace period runs out. Registered by
// driverConformance.
import { expect, it } from 'vitest'
import { defineTask, type ContextProvider, type Driver } from '../index.js'
import { deferred, instance } from './support.js'

/** worker.close() and afterward.close() with jobs running. */
export function shutdownTests(makeDriver: () => Driver): void {
  it('close() waits for running jobs within the grace period', async () => {
    const started = deferred()
    const task = defineTask({
      name: 'finishing',
      async run() {
        started.resolve()
        await new Promise((r) => setTimeout(r, 200))
      },
    })
    const afterward = instance({ tasks: [task], driver: makeDriver() })
    const worker = afterward.worker({ gracePeriod: 5_000 })
    await worker.start()
    const { id } = await afterward.enqueue(task, undefined)
    await started.promise
    await worker.close()
    expect((await afterward.jobs.get(id))?.state).toBe('completed')
  })

  it('a close() during start() leaves no consumer and no provider behind', async () => {
    const setupGate = deferred()
    const events: string[] = []
    const provider: ContextProvider<null> = {
      setup: () => setupGate.promise.then(() => void events.push('setup')),
      acquire: () => null,
      teardown: () => void events.push('teardown'),
    }
    let ran = false
    const task = defineTask({
      name: 'after-close',
      run: () => {
        ran = true
      },
    })
    const afterward = instance({
      tasks: [task],
      driver: makeDriver(),
      context: { p: provider },
    })
    const worker = afterward.worker()
    const starting = worker.start()
    const closing = worker.close()
    setupGate.resolve()
    await starting
    await closing
    expect(events).toEqual(['setup', 'teardown'])
    const { id } = await afterward.enqueue(task)
    expect((await afterward.jobs.get(id))?.state).toBe('waiting')
    expect(ran).toBe(false)
  })

  it('afterward.close() lets the jobs it waits for defer follow-ups', async () => {
    const started = deferred()
    const gate = deferred()
    const child = defineTask({ name: 'child-on-close', run: () => undefined })
    const parent = defineTask({
      name: 'parent-on-close',
      async run(_input: void, ctx) {
        started.resolve()
        await gate.promise
        ctx.defer(child)
      },
    })
    const inner = makeDriver()
    const stored: string[] = []
    // Records what reaches the broker: the instance (and its driver) is closed afterwards.
    const driver: Driver = {
      ...inner,
      name: inner.name,
      durable: inner.durable,
      enqueue: async (records) => {
        const results = await inner.enqueue(records)
        stored.push(...records.map((r) => r.task))
        return results
      },
      get: (id) => inner.get(id),
      byRequest: (id) => inner.byRequest(id),
      waitFor: (id, ms) => inner.waitFor(id, ms),
      consume: (o) => inner.consume(o),
      close: () => inner.close(),
    }
    const afterward = instance({ tasks: [parent, child], driver })
    await afterward.worker({ gracePeriod: 5_000 }).start()
    await afterward.enqueue(parent)
    await started.promise
    const closing = afterward.close()
    expect(() => afterward.scope().defer(child)).toThrow(/shutting down/)
    gate.resolve()
    await closing
    expect(stored).toEqual(['parent-on-close', 'child-on-close'])
  })

  it('a job still running after the grace period goes back to the queue and runs again', async () => {
    const first = deferred()
    let runs = 0
    const task = defineTask({
      name: 'stubborn',
      async run(_input: void, ctx) {
        runs++
        if (runs === 1) {
          first.resolve()
          await new Promise((r) => ctx.signal.addEventListener('abort', r))
        }
      },
    })
    const driver = makeDriver()
    const afterward = instance({ tasks: [task], driver })
    const worker = afterward.worker({ gracePeriod: 100 })
    await worker.start()
    const { id } = await afterward.enqueue(task, undefined)
    await first.promise
    await worker.close()
    const after = await afterward.jobs.get(id)
    expect(after?.state).toBe('waiting')
    await afterward.worker().start()
    const done = await afterward.jobs.wait(id)
    expect(done).toMatchObject({ state: 'completed', attemptsMade: 1 })
    expect(runs).toBe(2)
  })
}
