// One HTTP server of the cross-process benchmark (bench/http.ts), in a process of its own.
//   forked by bench/http.ts with: <variant> <redis-url>
// It answers POST /jobs as the variant says, then reports its port over IPC and, when asked,
// its CPU time and its heap after a full GC (the parent runs it with --expose-gc).
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { Queue } from 'bullmq'
import express from 'express'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { bullmq, createAfterward, defineTask, memory, type Driver } from '@afterward/core'
import { afterwardMiddleware } from '@afterward/express'
import afterwardPlugin from '@afterward/fastify'
import { afterwardMetrics, metricsPlugin } from '@afterward/prometheus'
import type { ServerMessage, Variant } from './http-variants.js'

const [variant, redisUrl] = process.argv.slice(2) as [Variant, string]
const [framework, kind, driverName, extra] = variant.split(' ') as [
  'fastify' | 'express',
  'bare' | 'queue.add' | 'defer',
  'bullmq' | 'memory' | undefined,
  'metrics' | undefined,
]

const sendEmail = defineTask({
  name: 'send-email',
  run: (_input: { userId: number }) => undefined,
})

// The hand-written baseline: one BullMQ Queue, `await queue.add` in the route.
const queue =
  kind === 'queue.add' ? new Queue('default', { connection: { url: redisUrl } }) : undefined

let driver: Driver | undefined
if (kind === 'defer') {
  driver =
    driverName === 'bullmq'
      ? bullmq({ connection: redisUrl, prefix: `bench-${randomUUID().slice(0, 8)}` })
      : memory()
}
// The default logger, as an app gets it: what it writes per job is part of the cost.
const afterward = driver && createAfterward({ tasks: [sendEmail], driver })
// Metrics as an app would have them: every job counted, /metrics served (not scraped here).
const metrics =
  afterward && extra === 'metrics'
    ? afterwardMetrics({ afterward, registry: new Registry() })
    : undefined
// memory() runs its jobs in the same process (as `pnpm dev` does); bullmq() only stores them.
if (afterward && driverName === 'memory') await afterward.worker({ concurrency: 10 }).start()

let server: Server
if (framework === 'fastify') {
  const app = Fastify()
  if (afterward) await app.register(afterwardPlugin, { afterward })
  if (metrics) await app.register(metricsPlugin, { registry: metrics.registry })
  app.post<{ Body: { userId: number } }>('/jobs', async (req, reply) => {
    if (queue) await queue.add('send-email', { userId: req.body.userId })
    if (afterward) reply.defer(sendEmail, { userId: req.body.userId })
    return { ok: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  server = app.server
} else {
  const app = express()
  app.use(express.json())
  if (afterward) app.use(afterwardMiddleware({ afterward }))
  app.post('/jobs', async (req, res) => {
    const { userId } = req.body as { userId: number }
    if (queue) await queue.add('send-email', { userId })
    if (afterward) res.defer(sendEmail, { userId })
    res.json({ ok: true })
  })
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening))
  })
}

const gc = (globalThis as { gc?: () => void }).gc
process.on('message', (message: { type: 'usage' }) => {
  if (message.type !== 'usage') return
  gc?.()
  const { user, system } = process.cpuUsage()
  const reply: ServerMessage = {
    type: 'usage',
    cpuMicros: user + system,
    heapBytes: process.memoryUsage().heapUsed,
  }
  process.send!(reply)
})
const port = (server.address() as AddressInfo).port
// Forked by bench/http.ts: report over IPC. Run by hand (e.g. under --cpu-prof): print the port,
// and exit cleanly on SIGINT so that the profile is written.
if (process.send) process.send({ type: 'ready', port } as ServerMessage)
else {
  console.error(`${variant} listening on http://127.0.0.1:${port}/jobs`)
  process.once('SIGINT', () => process.exit(0))
}
