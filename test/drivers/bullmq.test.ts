import { bullmq } from '@afterward/core'
import { redisUrl, uniqueQueueName } from '../support/redis.js'
import { driverConformance } from './conformance.js'
import { retentionSuite } from './retention.js'

// A unique key prefix per driver keeps every test's queues, jobs and indexes apart.
driverConformance('bullmq', () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') }))

retentionSuite('bullmq on Redis', (keep) =>
  bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw'), ...keep }),
)
