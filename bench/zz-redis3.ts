import { randomUUID } from 'node:crypto'
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
const n = 20000
await Promise.all(
  Array.from({ length: 100 }, async () => {
    while (i++ < n) {
      const s = aw.scope({ requestId: randomUUID() })
      s.defer(task, { userId: 1 })
      await s.flush()
    }
  }),
)
await aw.close()
