import { describe, expect, it } from 'vitest'
import { bullmq, createAfterward, defineTask } from '@afterward/core'
import { instance, silentLogger } from '../support/afterward.js'
import { redisUrl, uniqueQueueName } from '../support/redis.js'
import { driverConformance } from './conformance.js'
import { retentionSuite } from './retention.js'

// A unique key prefix per driver keeps every test's queues, jobs and indexes apart.
driverConformance('bullmq', () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') }))

retentionSuite('bullmq on Redis', (keep) =>
  bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw'), ...keep }),
)

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
