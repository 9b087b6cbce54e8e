import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
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
const c = new Redis(url, { enableAutoPipelining: true })
c.defineCommand('idx', {
  numberOfKeys: 1,
  lua: `redis.call('SADD', KEYS[1], unpack(ARGV, 2))\nredis.call('EXPIRE', KEYS[1], ARGV[1])`,
})
const raw = new Queue('raw', { connection: { url } })
const bigData = () => ({
  input: { userId: 1 },
  requestId: randomUUID(),
  createdAt: Date.now(),
  options: {
    attempts: 1,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.2 },
    delay: 0,
    priority: 'normal',
    queue: 'default',
  },
})
for (let r = 0; r < 2; r++) {
  await run('raw add', () => raw.add('send-email', { userId: 1 }))
  await run('raw add prio', () => raw.add('send-email', { userId: 1 }, { priority: 2 }))
  await run('raw add bigdata', () => raw.add('send-email', bigData(), { jobId: randomUUID() }))
  await run('raw add retention', () =>
    raw.add(
      'send-email',
      { userId: 1 },
      {
        removeOnComplete: { age: 604800, count: 10000 },
        removeOnFail: { age: 2592000, count: 100000 },
      },
    ),
  )
  await run('idx lua', () =>
    (c as any).idx(`r:${randomUUID()}`, 2592000, `default|${randomUUID()}`),
  )
  await run('sadd+expire', () => {
    const k = `s:${randomUUID()}`
    return Promise.all([c.sadd(k, `default|${randomUUID()}`), c.expire(k, 2592000)])
  })
  await run('zadd lex', () => c.zadd('z:bucket', 0, `${randomUUID()}|default|${randomUUID()}`))
  await admin.flushall()
}
await raw.close()
c.disconnect()
admin.disconnect()
