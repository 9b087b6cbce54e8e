// Jobs written straight into Redis, not through defer(): by another program, an old version, or
// someone with access to Redis. A bad one must fail at once, with a clear error on the job, before
// any context is acquired (no database connection or transaction for a job that cannot run).
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bullmq, defineTask, type Afterward, type ContextProvider } from '@afterward/core'
import { instance } from '../support/afterward.js'
import { redisUrl, uniqueQueueName, waitFor } from '../support/redis.js'

const runs: unknown[] = []
const acquired: string[] = []
const charge = defineTask({
  name: 'charge',
  input: z.object({ orderId: z.number() }),
  run: (input) => void runs.push(input),
})
const db: ContextProvider<string> = {
  acquire: (job) => {
    acquired.push(job.id)
    return 'connection'
  },
}

let afterward: Afterward | undefined
afterEach(async () => {
  await afterward?.close()
  runs.length = 0
  acquired.length = 0
})

/**
 * Writes a job the way any BullMQ producer can, runs a worker until BullMQ says the job has
 * finished, and returns BullMQ's view of it (Afterward's `jobs.get` shows only jobs it wrote).
 */
async function forge(name: string, data: unknown) {
  const prefix = uniqueQueueName('aw')
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  const queue = new Queue('default', { connection, prefix })
  try {
    const id = randomUUID()
    // Several attempts allowed: a bad job must still fail for good at the first.
    await queue.add(name, data, { jobId: id, attempts: 3, backoff: { type: 'fixed', delay: 10 } })
    afterward = instance({
      tasks: [charge],
      driver: bullmq({ connection: redisUrl, prefix }),
      context: { db },
    })
    await afterward.worker().start()
    await waitFor(
      async () => ['completed', 'failed'].includes(await queue.getJobState(id)),
      `job ${id} did not finish`,
    )
    const job = (await queue.getJob(id))!
    return {
      state: await queue.getJobState(id),
      attemptsMade: job.attemptsMade,
      reason: job.failedReason,
    }
  } finally {
    await queue.close()
    await connection.quit()
  }
}

const options = { timeout: 1_000 }

describe('a job written straight into Redis', () => {
  it('with input that fails the schema fails at once, before any context is acquired', async () => {
    const job = await forge('charge', { input: { orderId: 'DROP TABLE' }, options })
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1 })
    expect(job.reason).toContain('AFTERWARD_INPUT_INVALID')
    expect(job.reason).toContain('input.orderId')
    expect(acquired).toEqual([])
    expect(runs).toEqual([])
  })

  it('for a task this worker does not know fails at once, before any context is acquired', async () => {
    const job = await forge('refund', { input: { orderId: 1 }, options })
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1 })
    expect(job.reason).toContain('AFTERWARD_UNKNOWN_TASK')
    expect(acquired).toEqual([])
  })

  it.each([
    ['no Afterward envelope', { orderId: 1 }],
    ['an envelope without options', { input: { orderId: 1 } }],
    ['a string', 'charge order 1'],
    ['null', null],
  ])('with %s fails at once with a clear error, before any context', async (_, data) => {
    const job = await forge('charge', data)
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1 })
    expect(job.reason).toContain('[AFTERWARD_INPUT_INVALID]')
    expect(job.reason).toContain('not written by Afterward')
    expect(acquired).toEqual([])
    expect(runs).toEqual([])
  })
})
