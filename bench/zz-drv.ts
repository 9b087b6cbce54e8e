import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { bullmq } from '@afterward/core'
const url = 'redis://127.0.0.1:6390'
async function run(name: string, op: () => Promise<unknown>, n = 20000, conc = 100) {
  let i = 0
  const worker = async () => { while (i++ < n) await op() }
  const c0 = process.cpuUsage()
  await Promise.all(Array.from({ length: conc }, worker))
  const c = process.cpuUsage(c0)
  console.log(`${name.padEnd(26)} ${((c.user + c.system) / n).toFixed(1)} µs/op`)
}
const retention = { removeOnComplete: { age: 604800, count: 10000 }, removeOnFail: { age: 2592000, count: 100000 } }
const raw = new Queue('raw', { connection: { url } })
const shared = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1, enableOfflineQueue: false })
const shaped = new Queue('shaped', { connection: shared, defaultJobOptions: retention })
await shaped.waitUntilReady()
const driver = bullmq({ connection: url, prefix: 'drv' })
const options = { attempts: 1, backoff: { type: 'exponential' as const, delay: 1000, jitter: 0.2 }, delay: 0, priority: 'normal' as const, queue: 'default', timeout: undefined, key: undefined }
const record = (requestId?: string) => ({ id: randomUUID(), task: 'send-email', input: { userId: 1 }, requestId, createdAt: Date.now(), options, trace: undefined })
await driver.enqueue([record()])
for (let r = 0; r < 3; r++) {
  await run('raw add', () => raw.add('send-email', { userId: 1 }))
  await run('shaped add (autopipe)', () => shaped.add('send-email', { input: { userId: 1 }, createdAt: Date.now(), options }, { jobId: randomUUID(), priority: 2, timestamp: Date.now() }))
  await run('driver.enqueue no index', () => driver.enqueue([record()]))
  await run('driver.enqueue + index', () => driver.enqueue([record(randomUUID())]))
}
await raw.close(); await shaped.close(); shared.disconnect(); await driver.close()
