import { pino } from 'pino'
import { bullmq, createAfterward, defineTask } from '@afterward/core'
const url = 'redis://127.0.0.1:6390'
const task = defineTask({ name: 'send-email', run: (_i: { userId: number }) => undefined })
const aw = createAfterward({
  tasks: [task],
  driver: bullmq({ connection: url, prefix: 'cpu' }),
  logger: pino({ level: 'info' }),
})
let i = 0
const n = 80000
await aw.enqueue(task, { userId: 1 })
const c0 = process.cpuUsage()
await Promise.all(
  Array.from({ length: 100 }, async () => {
    while (i++ < n) await aw.enqueue(task, { userId: 1 })
  }),
)
const c = process.cpuUsage(c0)
console.log(((c.user + c.system) / n).toFixed(1), 'µs/op')
await aw.close()
