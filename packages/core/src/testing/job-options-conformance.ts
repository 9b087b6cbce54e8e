// The driver suite's tests of the job options a driver carries out: delay, priority, dedup keys,
// and which layer's options win. Registered by driverConformance.
import { expect, it } from 'vitest'
import { defineTask, type Driver } from '../index.js'
import { deferred, instance } from './support.js'

/** Delay, priority and dedup as the driver applies them, and the precedence of options. */
export function jobOptionTests(makeDriver: () => Driver): void {
  it('keeps a delayed job until its time', async () => {
    const task = defineTask({ name: 'later', run: () => undefined })
    const afterward = instance({ tasks: [task], driver: makeDriver() })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(task, undefined, { delay: 300 })
    expect((await afterward.jobs.get(id))?.state).toBe('delayed')
    const done = await afterward.jobs.wait(id)
    expect(done.state).toBe('completed')
    expect(done.startedAt!.getTime() - done.createdAt.getTime()).toBeGreaterThanOrEqual(290)
  })

  it('runs high before normal before low, FIFO within a priority', async () => {
    const order: string[] = []
    const task = defineTask({ name: 'ranked', run: (input: string) => void order.push(input) })
    const afterward = instance({ tasks: [task], driver: makeDriver() })
    const scope = afterward.scope()
    const ids = [
      scope.defer(task, 'low-1', { priority: 'low' }),
      scope.defer(task, 'normal-1'),
      scope.defer(task, 'high-1', { priority: 'high' }),
      scope.defer(task, 'normal-2', { priority: 'normal' }),
      scope.defer(task, 'high-2', { priority: 'high' }),
    ].map((job) => job.id)
    await scope.flush()
    // Everything is queued before the worker starts, so only priority decides the order.
    await afterward.worker({ concurrency: 1 }).start()
    await Promise.all(ids.map((id) => afterward.jobs.wait(id)))
    expect(order).toEqual(['high-1', 'high-2', 'normal-1', 'normal-2', 'low-1'])
  })

  it('dedup: at most one live job per task and key', async () => {
    const gate = deferred()
    const task = defineTask({ name: 'sync-user', run: () => gate.promise })
    const afterward = instance({ tasks: [task], driver: makeDriver() })
    const first = await afterward.enqueue(task, undefined, { key: 'user-7' })
    const second = await afterward.enqueue(task, undefined, { key: 'user-7' })
    expect(first.deduplicated).toBe(false)
    expect(second).toEqual({ id: first.id, deduplicated: true })
    const otherKey = await afterward.enqueue(task, undefined, { key: 'user-8' })
    expect(otherKey.deduplicated).toBe(false)
    await afterward.worker().start()
    await waitUntil(async () => (await afterward.jobs.get(first.id))?.state === 'active')
    expect((await afterward.enqueue(task, undefined, { key: 'user-7' })).deduplicated).toBe(true)
    gate.resolve()
    await afterward.jobs.wait(first.id)
    const third = await afterward.enqueue(task, undefined, { key: 'user-7' })
    expect(third.deduplicated).toBe(false)
    expect((await afterward.jobs.wait(third.id)).state).toBe('completed')
  })

  it('applies options call site > scope (route) > task > defaults', async () => {
    const task = defineTask({
      name: 'layered',
      retry: { attempts: 3 },
      queue: 'layered',
      run: () => undefined,
    })
    const bare = defineTask({ name: 'bare', run: () => undefined })
    const afterward = instance({
      tasks: [task, bare],
      driver: makeDriver(),
      defaults: { retry: { attempts: 2 }, priority: 'low' },
    })
    const scope = afterward.scope({
      requestId: 'req-prec',
      options: { retry: { attempts: 4 } },
    })
    const call = scope.defer(task, undefined, { retry: { attempts: 5 } })
    const route = scope.defer(task, undefined)
    const plain = afterward.scope({ requestId: 'req-prec2' })
    const fromTask = plain.defer(task, undefined)
    const fromDefaults = plain.defer(bare, undefined)
    await scope.flush()
    await plain.flush()
    const get = async (id: string) => (await afterward.jobs.get(id))!
    expect((await get(call.id)).maxAttempts).toBe(5)
    expect((await get(route.id)).maxAttempts).toBe(4)
    expect((await get(fromTask.id)).maxAttempts).toBe(3)
    expect((await get(fromDefaults.id)).maxAttempts).toBe(2)
    expect((await get(fromTask.id)).queue).toBe('layered')
    expect((await get(fromDefaults.id)).queue).toBe('default')
  })
}

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}
