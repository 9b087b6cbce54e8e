import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
const url = 'redis://127.0.0.1:6390'
const admin = new Redis(url)
const rcpu = async () => { const i = await admin.info('cpu'); const g = (n: string) => Number(new RegExp(`${n}:([\\d.]+)`).exec(i)![1]); return (g('used_cpu_user') + g('used_cpu_sys')) * 1e6 }
async function run(op: () => Promise<unknown>, n = 20000, conc = 100) {
  let i = 0
  const worker = async () => { while (i++ < n) await op() }
  const r0 = await rcpu()
  await Promise.all(Array.from({ length: conc }, worker))
  const r = await rcpu() - r0
  await admin.flushall()
  return r / n
}
const retention = { removeOnComplete: { age: 604800, count: 10000 }, removeOnFail: { age: 2592000, count: 100000 } }
const options = { attempts: 1, backoff: { type: 'exponential', delay: 1000, jitter: 0.2 }, delay: 0, priority: 'normal', queue: 'default' }
const plain = new Queue('plain', { connection: { url } })
const auto = new Queue('auto', { connection: new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: null }) })
const ret = new Queue('ret', { connection: { url }, defaultJobOptions: retention })
const cases: Record<string, () => Promise<unknown>> = {
  'raw add': () => plain.add('send-email', { userId: 1 }),
  '+ jobId': () => plain.add('send-email', { userId: 1 }, { jobId: randomUUID() }),
  '+ priority': () => plain.add('send-email', { userId: 1 }, { priority: 2 }),
  '+ timestamp': () => plain.add('send-email', { userId: 1 }, { timestamp: Date.now() }),
  '+ big data': () => plain.add('send-email', { input: { userId: 1 }, requestId: randomUUID(), createdAt: Date.now(), options }),
  '+ retention': () => ret.add('send-email', { userId: 1 }),

  'zadd index': () => admin.zadd('idx', 0, `36:${randomUUID()}|default|${randomUUID()}`),
  'all of ours': () => ret.add('send-email', { input: { userId: 1 }, requestId: randomUUID(), createdAt: Date.now(), options }, { jobId: randomUUID(), priority: 2, timestamp: Date.now() }),
}
const res: Record<string, number[]> = {}
for (let r = 0; r < 3; r++) for (const [k, op] of Object.entries(cases)) (res[k] ??= []).push(await run(op))
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(20), med(v).toFixed(1), 'µs Redis CPU/op', v.map((x) => x.toFixed(0)).join(' '))
process.exit(0)
