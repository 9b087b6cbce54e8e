// The drivers every HTTP adapter is tested on, and the services its heavier tests need.
import { memory } from '@afterward/core'
import { bullmq } from '@afterward/core/bullmq'
import type { HttpAdapterConformanceOptions } from '@afterward/core/conformance'
import { createPrisma, createTestDatabase } from '../support/pg.js'
import { redisUrl, startRedisServer, uniqueQueueName } from '../support/redis.js'

export const conformance: Omit<HttpAdapterConformanceOptions, 'adapter'> = {
  drivers: [
    { name: 'memory', make: () => memory() },
    {
      name: 'bullmq',
      make: () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') }),
    },
  ],
  startRedisServer: () => startRedisServer(),
  createTestDatabase: () => createTestDatabase(),
  createPrisma,
}
