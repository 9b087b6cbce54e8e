import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import { createAfterward, defineTask, memory, type Driver } from '@afterward/core'
const task = defineTask({ name: 'send-email', run: (_i: { userId: number }) => undefined })
const inner = memory()
const instant: Driver = { ...inner, name: 'instant', enqueue: (records) => Promise.resolve(records.map((r) => ({ id: r.id, deduplicated: false }))) }
const aw = createAfterward({ tasks: [task], driver: instant, logger: pino({ level: 'info' }) })
async function run(name: string, op: () => unknown, n = 200000) {
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, op))
  const c = process.cpuUsage(c0)
  console.log(name.padEnd(28), ((c.user + c.system) / n).toFixed(2), 'µs/op')
}
const trace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }
for (let r = 0; r < 3; r++) {
  await run('randomUUID', () => randomUUID())
  await run('Promise.resolve', () => Promise.resolve(1))
  await run('setTimeout+clear', () => clearTimeout(setTimeout(() => 0, 2000)))
  await run('scope only', () => aw.scope({ requestId: 'r', trace }))
  await run('scope+defer', () => aw.scope({ requestId: 'r', trace }).defer(task, { userId: 1 }))
  await run('scope+defer+flush', () => { const s = aw.scope({ requestId: 'r', trace }); s.defer(task, { userId: 1 }); return s.flush() })
}
