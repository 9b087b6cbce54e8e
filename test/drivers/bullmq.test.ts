import { bullmq } from '@afterward/core'
import { redisUrl, uniqueQueueName } from '../support/redis.js'
import { driverConformance } from './conformance.js'

// A unique key prefix per driver keeps every test's queues, jobs and indexes apart.
driverConformance('bullmq', () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') }))
