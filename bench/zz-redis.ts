import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import { bullmq, createAfterward, defineTask } from '@afterward/core'
const url = 'redis://127.0.0.1:6390'
const admin = new Redis(url)
const rcpu = async () => {
  const i = await admin.info('cpu')
  const g = (n: string) => Number(new RegExp(`${n}:([\\d.]+)`).exec(i)![1])
  return (g('used_cpu_user') + g('used_cpu_sys')) * 1e6
}
async function run(name: string, op: () => Promise<unknown>, n = 20000, conc = 100) {
  let i = 0
  const worker = async () => {
    while (i++ < n) await op()
  }
  const r0 = await rcpu()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: conc }, worker))
  const c = process.cpuUsage(c0)
  const t = performance.now() - t0
  const r = (await rcpu()) - r0
  console.log(
    `${name.padEnd(22)} node ${((c.user + c.system) / n).toFixed(1)} µs/op  redis ${(r / n).toFixed(1)} µs/op  ${((n / t) * 1000).toFixed(0)} ops/s`,
  )
}
const raw = new Queue('raw', { connection: { url } })
const task = defineTask({ name: 'send-email', run: (_i: { userId: number }) => undefined })
const aw = createAfterward({
  tasks: [task],
  driver: bullmq({ connection: url, prefix: 'cpu' }),
  logger: pino({ level: 'info' }),
})
const awNo = createAfterward({
  tasks: [task],
  driver: bullmq({ connection: url, prefix: 'cpu2' }),
  logger: pino({ level: 'info' }),
})
for (let r = 0; r < 4; r++) {
  await run('raw add', () => raw.add('send-email', { userId: 1 }))
  await run('afterward no index', () => awNo.enqueue(task, { userId: 1 }))
  await run('afterward scope+index', async () => {
    const s = aw.scope({ requestId: randomUUID() })
    s.defer(task, { userId: 1 })
    await s.flush()
  })
  await admin.flushall()
}
await raw.close()
await aw.close()
await awNo.close()
admin.disconnect()
