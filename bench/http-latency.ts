// Added latency of a deferring Fastify route over a bare one, in one process and one run.
//   pnpm exec tsx bench/http-latency.ts   (REQUESTS=3000, REDIS_URL=redis://127.0.0.1:6379)
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { bullmq, createAfterward, defineTask, memory, type Driver } from '@afterward/core'
import afterwardPlugin from '@afterward/fastify'
import { report, sample } from './stats.js'

const requests = Number(process.env.REQUESTS ?? 3_000)
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const sendEmail = defineTask({ name: 'send-email', run: (_input: { userId: number }) => undefined })

async function measure(name: string, driver: Driver, flush: 'before-response' | 'after-response') {
  const afterward = createAfterward({
    tasks: [sendEmail],
    driver,
    logger: pino({ level: 'silent' }),
  })
  const app = Fastify()
  await app.register(afterwardPlugin, { afterward, flush })
  app.post('/bare', async () => ({ ok: true }))
  app.post('/defer', async (_req, reply) => reply.defer(sendEmail, { userId: 1 }))
  await app.ready()
  const bare = await sample(() => app.inject({ method: 'POST', url: '/bare' }), requests, 300)
  const deferring = await sample(() => app.inject({ method: 'POST', url: '/defer' }), requests, 300)
  await app.close()
  return [
    { name: `${name}: bare route`, times: bare },
    { name: `${name}: deferring route`, times: deferring, baseline: `${name}: bare route` },
  ]
}

const prefix = `bench-${randomUUID().slice(0, 8)}`
report(`fastify.inject, ${requests} sequential requests per route`, [
  ...(await measure('memory', memory(), 'before-response')),
  ...(await measure('bullmq', bullmq({ connection: redisUrl, prefix }), 'before-response')),
  ...(await measure(
    'bullmq after-response',
    bullmq({ connection: redisUrl, prefix }),
    'after-response',
  )),
])

const redis = new Redis(redisUrl)
const keys = await redis.keys(`${prefix}:*`)
if (keys.length > 0) await redis.del(...keys)
await redis.quit()
