import { Queue } from 'bullmq'
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import { bullmq, createAfterward, defineTask } from '@afterward/core'
const url = 'redis://127.0.0.1:6390'
const task = defineTask({ name: 'send-email', run: (_i: { userId: number }) => undefined })
const raw = new Queue('raw', { connection: { url } })
const aw = createAfterward({
  tasks: [task],
  driver: bullmq({ connection: url, prefix: 'cpu' }),
  logger: pino({ level: 'info' }),
})
const op =
  process.env.MODE === 'raw'
    ? () => raw.add('send-email', { userId: 1 })
    : async () => {
        const s = aw.scope({ requestId: randomUUID() })
        s.defer(task, { userId: 1 })
        await s.flush()
      }
await op()
let i = 0
const n = 50000
const c0 = process.cpuUsage()
await Promise.all(
  Array.from({ length: 100 }, async () => {
    while (i++ < n) await op()
  }),
)
const c = process.cpuUsage(c0)
console.log(process.env.MODE, ((c.user + c.system) / n).toFixed(1), 'µs/op')
await aw.close()
await raw.close()
