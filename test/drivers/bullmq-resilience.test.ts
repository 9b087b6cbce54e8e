// BullMQ-only behaviour: what happens when Redis is missing, goes away, and comes back.
// These tests use private Redis servers; the shared one is never stopped.
import { describe, expect, it, onTestFinished } from 'vitest'
import { pino } from 'pino'
import { AfterwardEnqueueError, AfterwardError, ErrorCode, defineTask } from '@afterward/core'
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

  it('jobs.list and jobs.counts reject with AFTERWARD_BROKER_UNAVAILABLE', async () => {
    const port = await freePort()
    const afterward = instance({
      tasks: [ping],
      driver: bullmq({ connection: `redis://127.0.0.1:${port}` }),
    })
    const unavailable = {
      code: ErrorCode.BROKER_UNAVAILABLE,
      message: expect.stringMatching(/Redis/),
    }
    // Together: a read waits a few seconds for Redis to come back, and they share that wait.
    await Promise.all([
      expect(afterward.jobs.list()).rejects.toMatchObject(unavailable),
      expect(afterward.jobs.list({ queue: 'default' })).rejects.toMatchObject(unavailable),
      expect(afterward.jobs.counts()).rejects.toMatchObject(unavailable),
      expect(afterward.jobs.counts({ queue: 'default' })).rejects.toMatchObject(unavailable),
    ])
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

describe('bullmq driver on a Redis that may evict keys', () => {
  it('logs an error when a worker starts, and refuses to start with requireNoEviction', async () => {
    const redis = await startRedisServer({ 'maxmemory-policy': 'allkeys-lru' })
    onTestFinished(() => redis.stop())
    const lines: { level: number; msg: string; maxmemoryPolicy?: string }[] = []
    const logger = pino(
      { level: 'error' },
      { write: (l: string) => void lines.push(JSON.parse(l)) },
    )
    const warned = instance({ tasks: [ping], driver: bullmq({ connection: redis.url }), logger })
    await warned.worker().start()
    expect(lines).toEqual([
      expect.objectContaining({
        maxmemoryPolicy: 'allkeys-lru',
        msg: expect.stringContaining('noeviction'),
      }),
    ])

    const strict = instance({
      tasks: [ping],
      driver: bullmq({ connection: redis.url, requireNoEviction: true }),
    })
    const refused = await strict
      .worker()
      .start()
      .catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(AfterwardError)
    expect(refused).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
    expect((refused as Error).message).toContain("maxmemory-policy is 'allkeys-lru'")
  })

  it('starts quietly on a Redis with noeviction', async () => {
    const redis = await startRedisServer({ 'maxmemory-policy': 'noeviction' })
    onTestFinished(() => redis.stop())
    const lines: unknown[] = []
    const logger = pino(
      { level: 'error' },
      { write: (l: string) => void lines.push(JSON.parse(l)) },
    )
    const afterward = instance({
      tasks: [ping],
      driver: bullmq({ connection: redis.url, requireNoEviction: true }),
      logger,
    })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(ping, 1)
    expect(await afterward.jobs.wait(id)).toMatchObject({ state: 'completed' })
    expect(lines).toEqual([])
  })
})
