// The Fastify example with tracing on (its src/tracing.ts, as `pnpm start` sets it up, spans
// kept in memory): one request over real HTTP gives one trace holding the request's server span,
// the send span of its jobs and a process span for each attempt, retries included.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { startTracing, type TracingOptions } from '../../examples/fastify-signup/src/tracing.js'
import { silentLogger } from '../support/afterward.js'

type SpanExporter = NonNullable<TracingOptions['exporter']>
type Span = Parameters<SpanExporter['export']>[0][number]

const spans: Span[] = []
const exporter: SpanExporter = {
  export(batch, done) {
    spans.push(...batch)
    done({ code: 0 })
  },
  shutdown: () => Promise.resolve(),
}
const tracing = startTracing({}, { exporter })
// Loaded once tracing has started, as server.ts does: the HTTP instrumentation patches `http`
// as Fastify requires it.
const { buildApp } = await import('../../examples/fastify-signup/src/app.js')
const { createServices, loadSettings } = await import('../../examples/shared/src/index.js')

const dataDir = mkdtempSync(join(tmpdir(), 'afterward-otel-example-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

it('traces a request, the send span of its jobs and each attempt of them, in one trace', async () => {
  // The embedded defaults (memory() queue, PGlite, local mailbox failing each mail twice).
  const services = await createServices(loadSettings({}, { dataDir }), silentLogger, { tracing })
  const app = await buildApp(services)
  try {
    await services.startWorker()
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const res = await fetch(`http://127.0.0.1:${port}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'o-7', email: 'ada@example.com', item: 'book', quantity: 1 }),
    })
    expect(res.status).toBe(201)
    const { jobIds } = (await res.json()) as { jobIds: [string, string] }
    const [confirmation, reservation] = jobIds
    await services.memoryDriver!.drain()

    const server = spans.filter((s) => s.name === 'POST')
    expect(server).toHaveLength(1)
    const request = server[0]!
    const trace = spans.filter((s) => s.spanContext().traceId === request.spanContext().traceId)
    const send = trace.find((s) => s.name === 'send default')!
    expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    expect(send.attributes).toMatchObject({
      'messaging.operation.type': 'send',
      'messaging.batch.message_count': 2,
      'afterward.job_ids': jobIds,
      'afterward.request_id': res.headers.get('x-request-id'),
    })
    // Each attempt is a process span under the send span: the confirmation email failed twice
    // (the flaky mailbox) before it went out, the stock was reserved at once.
    const attempts = (jobId: string) =>
      trace
        .filter(
          (s) => s.name === 'process default' && s.attributes['messaging.message.id'] === jobId,
        )
        .map((s) => {
          expect(s.parentSpanContext?.spanId).toBe(send.spanContext().spanId)
          return [s.attributes['afterward.attempt'], s.attributes['afterward.outcome']]
        })
    expect(attempts(confirmation)).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'completed'],
    ])
    expect(attempts(reservation)).toEqual([[1, 'completed']])
    expect(trace).toHaveLength(6) // nothing else: the request, one send, four attempts
  } finally {
    await app.close()
    await services.close() // and tracing.shutdown()
  }
})
