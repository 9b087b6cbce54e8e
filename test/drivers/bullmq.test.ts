import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import * as root from '@afterward/core'
import { createAfterward, defineTask } from '@afterward/core'
import * as entry from '@afterward/core/bullmq'
import { bullmq } from '@afterward/core/bullmq'
import { driverConformance, scheduleConformance } from '@afterward/core/conformance'
import { instance, silentLogger } from '../support/afterward.js'
import { redisUrl, uniqueQueueName } from '../support/redis.js'
import { limitConformance } from './limits.js'
import { retentionSuite } from './retention.js'

// A unique key prefix per driver keeps every test's queues, jobs and indexes apart.
driverConformance({
  name: 'bullmq',
  makeDriver: () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') }),
})
limitConformance('bullmq', {
  kind: 'bullmq',
  options: () => ({ connection: redisUrl, prefix: uniqueQueueName('aw') }),
})

{
  let prefix = ''
  scheduleConformance({
    name: 'bullmq on Redis',
    makeNamespace: () => {
      prefix = uniqueQueueName('aw')
      return () => bullmq({ connection: redisUrl, prefix })
    },
    foreign: {
      async create() {
        const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
        const queue = new Queue('default', { connection, prefix })
        await queue.upsertJobScheduler('their-report', { every: 60_000 }, { name: 'report' })
        await queue.close()
        await connection.quit()
      },
      async exists() {
        const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
        const queue = new Queue('default', { connection, prefix })
        const found = await queue.getJobScheduler('their-report')
        await queue.close()
        await connection.quit()
        return found !== undefined
      },
    },
  })
}

retentionSuite('bullmq on Redis', (keep) =>
  bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw'), ...keep }),
)

describe('@afterward/core/bullmq', () => {
  it('exports the driver and its helpers, which the root re-exports for compatibility', () => {
    expect(Object.keys(entry).sort()).toEqual(['bullmq', 'migrateBullmqPostgres'])
    expect(root.bullmq).toBe(entry.bullmq)
    expect(root.migrateBullmqPostgres).toBe(entry.migrateBullmqPostgres)
  })
})

describe('bullmq request index on Redis', () => {
  const noop = defineTask({ name: 'noop', run: (_input: { n: number }) => undefined })

  it('is written by the time the instance has closed, for readers in other processes', async () => {
    const prefix = uniqueQueueName('aw')
    const writer = createAfterward({
      tasks: [noop],
      driver: bullmq({ connection: redisUrl, prefix }),
      logger: silentLogger,
    })
    const scope = writer.scope({ requestId: 'req-closing' })
    const ids = [scope.defer(noop, { n: 1 }).id, scope.defer(noop, { n: 2 }).id]
    await scope.flush()
    await writer.close()
    const reader = instance({ tasks: [noop], driver: bullmq({ connection: redisUrl, prefix }) })
    const found = await reader.jobs.byRequest('req-closing')
    expect(found.map((j) => j.id).sort()).toEqual([...ids].sort())
  })
})

describe('jobs stored by earlier versions', () => {
  it('are read and run: options in job data, attempts and priority in BullMQ options', async () => {
    const prefix = uniqueQueueName('aw')
    const seen: unknown[] = []
    const greet = defineTask({
      name: 'greet',
      run: (input: { name: string }, ctx) =>
        void seen.push([input, ctx.job.attempts, ctx.job.requestId]),
    })
    // The layout of 0.1.0: every resolved option in `data`, and BullMQ's own options besides.
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
    const queue = new Queue('default', { connection, prefix })
    const id = randomUUID()
    const createdAt = Date.now()
    const options = {
      attempts: 3,
      backoff: { type: 'fixed', delay: 10, jitter: 0 },
      delay: 0,
      priority: 'high',
      queue: 'default',
    }
    await queue.add(
      'greet',
      { input: { name: 'Ada' }, requestId: 'req-old', createdAt, options, trace: undefined },
      {
        jobId: id,
        attempts: 3,
        backoff: { type: 'afterward' },
        priority: 1,
        delay: 0,
        timestamp: createdAt,
      },
    )
    await queue.close()
    await connection.quit()
    const afterward = instance({ tasks: [greet], driver: bullmq({ connection: redisUrl, prefix }) })
    await afterward.worker().start()
    const done = await afterward.jobs.wait(id)
    expect(done).toMatchObject({
      state: 'completed',
      maxAttempts: 3,
      requestId: 'req-old',
      task: 'greet',
    })
    expect(done.createdAt.getTime()).toBe(createdAt)
    expect(seen).toEqual([[{ name: 'Ada' }, 3, 'req-old']])
  })
})
