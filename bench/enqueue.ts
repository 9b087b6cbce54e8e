// Enqueue cost on BullMQ: Afterward against raw BullMQ calls, measured in the same run.
//   pnpm exec tsx bench/enqueue.ts
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { bullmq, createAfterward, defineTask } from '@afterward/core'
import { report, sample } from './stats.js'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const runs = Number(process.env.BENCH_RUNS ?? 500)
const prefix = `bench-${randomUUID().slice(0, 8)}`
const input = { userId: 42, email: 'ada@example.com', plan: 'pro' }

const task = defineTask({ name: 'bench-email', run: (_input: typeof input) => undefined })
const afterward = createAfterward({
  tasks: [task],
  driver: bullmq({ connection: url, prefix }),
  logger: pino({ level: 'silent' }),
})
const connection = new Redis(url, { maxRetriesPerRequest: null })
const raw = new Queue('raw', { connection, prefix })

const one = {
  raw: await sample(() => raw.add('bench-email', input), runs),
  afterward: await sample(() => afterward.enqueue(task, input), runs),
}
const ten = {
  raw: await sample(
    () => raw.addBulk(Array.from({ length: 10 }, () => ({ name: 'bench-email', data: input }))),
    runs / 5,
  ),
  afterward: await sample(async () => {
    const scope = afterward.scope({ requestId: randomUUID() })
    for (let i = 0; i < 10; i++) scope.defer(task, input)
    await scope.flush()
  }, runs / 5),
}

report(`Enqueue on BullMQ (${runs} runs, local Redis)`, [
  { name: 'raw queue.add (1 job)', times: one.raw },
  { name: 'afterward.enqueue (1 job)', times: one.afterward, baseline: 'raw queue.add (1 job)' },
  { name: 'raw queue.addBulk (10 jobs)', times: ten.raw },
  {
    name: 'scope: 10 defers + flush',
    times: ten.afterward,
    baseline: 'raw queue.addBulk (10 jobs)',
  },
])

await raw.obliterate({ force: true })
await raw.close()
const keys = await connection.keys(`${prefix}:*`)
if (keys.length > 0) await connection.del(...keys)
await connection.quit()
await afterward.close()
