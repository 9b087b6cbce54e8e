// The drivers every HTTP adapter is tested on.
import { memory } from '@afterward/core'
import { bullmq } from '@afterward/core/bullmq'
import { redisUrl, uniqueQueueName } from '../support/redis.js'
import type { DriverUnderTest } from './adapter-suite.js'

export const drivers: DriverUnderTest[] = [
  { name: 'memory', make: () => memory() },
  { name: 'bullmq', make: () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') }) },
]
