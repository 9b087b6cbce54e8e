// Added latency of a deferring Fastify route over a bare one, in one process and one run.
// Run: pnpm exec tsx bench/http-latency.ts   (REDIS_URL defaults to redis://127.0.0.1:6379)
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { pino } from 'pino'
import { bullmq, createAfterward, defineTask, memory, type Driver } from '@afterward/core'
import afterwardPlugin from '@afterward/fastify'

const REQUESTS = Number(process.env.REQUESTS ?? 3_000)
const WARMUP = 300
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const sendEmail = defineTask({ name: 'send-email', run: (_input: { userId: number }) => undefined })

async function medianMs(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await run()
  const samples: number[] = []
  for (let i = 0; i < REQUESTS; i++) {
    const start = performance.now()
    await run()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]!
}

async function measure(driverName: string, driver: Driver): Promise<void> {
  const afterward = createAfterward({
    tasks: [sendEmail],
    driver,
    logger: pino({ level: 'silent' }),
  })
  const app = Fastify()
  await app.register(afterwardPlugin, { afterward })
  app.post('/bare', async () => ({ ok: true }))
  app.post('/defer', async (_req, reply) => reply.defer(sendEmail, { userId: 1 }))
  await app.ready()
  const bare = await medianMs(() => app.inject({ method: 'POST', url: '/bare' }))
  const deferring = await medianMs(() => app.inject({ method: 'POST', url: '/defer' }))
  console.log(
    `${driverName.padEnd(7)} bare ${bare.toFixed(3)} ms | defer ${deferring.toFixed(3)} ms | added ${(deferring - bare).toFixed(3)} ms (x${(deferring / bare).toFixed(2)})`,
  )
  await app.close()
}

console.log(`fastify.inject, ${REQUESTS} sequential requests per route, medians`)
await measure('memory', memory())
await measure(
  'bullmq',
  bullmq({ connection: redisUrl, prefix: `bench-${randomUUID().slice(0, 8)}` }),
)
