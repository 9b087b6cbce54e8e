// BullMQ-only behaviour: what happens when Redis is missing, goes away, and comes back.
// These tests use private Redis servers; the shared one is never stopped.
import { describe, expect, it, onTestFinished } from 'vitest'
import { AfterwardEnqueueError, defineTask } from '@afterward/core'
import { bullmq } from '@afterward/core/bullmq'
import { deferred, expectFastEnqueueFailure, instance } from '../support/afterward.js'
import { freePort, startRedisServer } from '../support/redis.js'

const ping = defineTask({ name: 'ping', run: (_input: number) => undefined })

/** Retries `fn` until it resolves; for waiting on a reconnect, which has no event to await here. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() > end) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

describe('bullmq driver when Redis is not there', () => {
  it('fails an enqueue fast when nothing listens on the port, and never hangs', async () => {
    const port = await freePort()
    const afterward = instance({
      tasks: [ping],
      driver: bullmq({ connection: `redis://127.0.0.1:${port}` }),
      enqueueTimeout: 500,
    })
    await expectFastEnqueueFailure(() => afterward.enqueue(ping, 1), /Check that it is reachable/)
  })

  it('fails fast while Redis is down and stores jobs again once it is back', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const afterward = instance({
      tasks: [ping],
      driver: bullmq({ connection: redis.url }),
      enqueueTimeout: 500,
    })
    // The first enqueue also connects and loads BullMQ's scripts, which can outlast 500 ms on a busy machine.
    const before = await eventually(() => afterward.enqueue(ping, 1))
    expect((await afterward.jobs.get(before.id))?.state).toBe('waiting')

    await redis.stop()
    const started = performance.now()
    await expect(afterward.enqueue(ping, 2)).rejects.toBeInstanceOf(AfterwardEnqueueError)
    expect(performance.now() - started).toBeLessThan(1_500)

    await redis.restart()
    const after = await eventually(() => afterward.enqueue(ping, 3))
    expect((await afterward.jobs.get(after.id))?.state).toBe('waiting')
  })

  it('a worker survives a Redis restart and takes new jobs afterwards', async () => {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const seen: number[] = []
    const second = deferred()
    const task = defineTask({
      name: 'count',
      run(input: number) {
        seen.push(input)
        if (input === 2) second.resolve()
      },
    })
    const afterward = instance({
      tasks: [task],
      driver: bullmq({ connection: redis.url }),
      enqueueTimeout: 500,
    })
    await afterward.worker({ concurrency: 2 }).start()
    const first = await afterward.enqueue(task, 1)
    expect((await afterward.jobs.wait(first.id)).state).toBe('completed')

    await redis.restart() // empty again: this server keeps nothing on disk
    await eventually(() => afterward.enqueue(task, 2))
    await second.promise
    expect(seen).toEqual([1, 2])
  })
})
