// One request, one trace, across processes: a real Fastify server under the OpenTelemetry HTTP
// instrumentation defers a job on Redis; a worker in another process (test/support/worker.ts,
// with its own SDK) runs it and sends its spans back over IPC.
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { SpanKind } from '@opentelemetry/api'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { afterEach, describe, expect, it } from 'vitest'
import { bullmq, type Afterward } from '@afterward/core'
import { afterwardMiddleware } from '@afterward/express'
import afterwardPlugin from '@afterward/fastify'
import { otelInstrumentation } from '@afterward/otel'
import { instance } from '../../../test/support/afterward.js'
import { redisUrl, uniqueQueueName } from '../../../test/support/redis.js'
import { welcomeEmail } from './support/tasks.js'
import { one, startTracing, type SpanJson } from './support/tracing.js'

const tracing = startTracing()
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] })
// The frameworks are loaded after the instrumentation is registered, as an app's tracing setup
// file (`node --import ./tracing.js`) makes sure of: the instrumentation patches `http` as it loads.
const { default: Fastify } = await import('fastify')
const { default: express } = await import('express')

/** A server whose `POST /signup` defers `welcomeEmail` and answers 201 `{ jobId }`. */
type Serve = (afterward: Afterward) => Promise<{ url: string; close(): Promise<void> }>

const servers: [string, Serve][] = [
  [
    'Fastify',
    async (afterward) => {
      const app = Fastify()
      await app.register(afterwardPlugin, { afterward })
      app.post('/signup', async (_request, reply) => {
        const job = reply.defer(welcomeEmail, { userId: 7 })
        return reply.code(201).send({ jobId: job.id })
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = app.server.address() as AddressInfo
      return { url: `http://127.0.0.1:${port}`, close: () => app.close() }
    },
  ],
  [
    'Express',
    async (afterward) => {
      const app = express()
      app.use(afterwardMiddleware({ afterward }))
      app.post('/signup', (_request, response) => {
        const job = response.defer(welcomeEmail, { userId: 7 })
        response.status(201).json({ jobId: job.id })
      })
      const server = app.listen(0, '127.0.0.1')
      await once(server, 'listening')
      const { port } = server.address() as AddressInfo
      return {
        url: `http://127.0.0.1:${port}`,
        close: () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()))
          server.closeAllConnections()
          return closed
        },
      }
    },
  ],
]

const root = fileURLToPath(new URL('../../../', import.meta.url))
const workerScript = fileURLToPath(new URL('./support/worker.ts', import.meta.url))
const children: ChildProcess[] = []

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill()
})

/** The worker process, once it is taking jobs from `prefix`. */
async function startWorkerProcess(prefix: string): Promise<ChildProcess> {
  const child = fork(workerScript, [], {
    cwd: root,
    execArgv: ['--import', 'tsx', '--conditions=source'],
    env: { ...process.env, REDIS_URL: redisUrl, AFTERWARD_PREFIX: prefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.push(child)
  expect(await nextMessage(child)).toBe('ready')
  return child
}

/** The child's next IPC message; rejects if it exits first. */
function nextMessage(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) =>
      reject(new Error(`the worker process exited (code ${code}) before answering`))
    child.once('exit', exited)
    child.once('message', (message) => {
      child.off('exit', exited)
      resolve(message)
    })
  })
}

describe.each(servers)(
  'otelInstrumentation across processes (%s, bullmq() on Redis)',
  (_name, serve) => {
    it('gives one request one trace: the request span, the send span and the worker process span', async () => {
      const prefix = uniqueQueueName('otel')
      const worker = await startWorkerProcess(prefix)
      const afterward = instance({
        tasks: [welcomeEmail],
        driver: bullmq({ connection: redisUrl, prefix }),
        instrumentation: [otelInstrumentation()],
      })
      const server = await serve(afterward)

      // The caller's own trace: everything below must join it.
      const traceId = randomBytes(16).toString('hex')
      const callerSpanId = randomBytes(8).toString('hex')
      const response = await fetch(`${server.url}/signup`, {
        method: 'POST',
        headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
      })
      expect(response.status).toBe(201)
      const { jobId } = (await response.json()) as { jobId: string }
      expect((await afterward.jobs.wait(jobId)).state).toBe('completed')
      await server.close()

      worker.send('spans')
      const { spans: workerSpans } = (await nextMessage(worker)) as { spans: SpanJson[] }
      worker.send('close')

      const appSpans = tracing.spans().filter((s) => s.traceId === traceId)
      const requestSpan = appSpans.find((s) => s.kind === SpanKind.SERVER)
      expect(requestSpan).toMatchObject({ traceId, parentSpanId: callerSpanId })
      expect(requestSpan!.events.map((e) => e.name)).toEqual(['afterward.defer'])
      const send = one(appSpans, 'send mails')
      expect(send).toMatchObject({
        kind: SpanKind.PRODUCER,
        traceId,
        parentSpanId: requestSpan!.spanId,
        attributes: { 'messaging.message.id': jobId, 'messaging.destination.name': 'mails' },
      })

      const process = one(workerSpans, 'process mails')
      expect(process).toMatchObject({
        kind: SpanKind.CONSUMER,
        traceId,
        parentSpanId: send.spanId,
        links: [{ traceId, spanId: send.spanId }],
        attributes: {
          'messaging.message.id': jobId,
          'afterward.task': 'otel-welcome-email',
          'afterward.attempt': 1,
          'afterward.request_id': expect.any(String),
          'afterward.outcome': 'completed',
        },
      })
      expect(process.attributes['afterward.request_id']).toBe(
        send.attributes['afterward.request_id'],
      )
      expect(one(workerSpans, 'render email')).toMatchObject({
        traceId,
        parentSpanId: process.spanId,
      })
    })
  },
)
