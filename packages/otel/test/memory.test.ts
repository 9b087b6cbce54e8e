// otelInstrumentation() in one process on memory(): the spans of a deferred job, the task's own
// spans under the process span, failed and retried attempts with status ERROR, refused
// enqueues, follow-up jobs and the new-trace option.
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { describe, expect, it } from 'vitest'
import { ErrorCode, PermanentError, defineTask, memory, type Afterward } from '@afterward/core'
import { otelInstrumentation, type OtelInstrumentationOptions } from '@afterward/otel'
import { deferred, instance, thrown } from '../../../test/support/afterward.js'
import { one, startTracing, type SpanJson } from './support/tracing.js'

const tracing = startTracing()
const appTracer = trace.getTracer('app')

const sendEmail = defineTask({
  name: 'send-email',
  queue: 'mails',
  run: (input: { to: string }) =>
    appTracer.startActiveSpan('smtp', (span) => {
      span.setAttribute('to', input.to)
      span.end()
    }),
})
const flaky = defineTask({
  name: 'flaky',
  retry: { attempts: 2, backoff: { type: 'fixed', delay: 1, jitter: 0 } },
  run: (_input: null, ctx) => {
    if (ctx.job.attempt === 1) throw new Error('smtp timeout')
  },
})
const doomed = defineTask({
  name: 'doomed',
  retry: { attempts: 5 },
  run: (_input: null) => {
    throw new PermanentError('address rejected')
  },
})
const signup = defineTask({
  name: 'signup',
  queue: 'mails',
  run: (_input: null, ctx) => void ctx.defer(sendEmail, { to: 'ada@example.com' }),
})

function setUp(options?: OtelInstrumentationOptions): {
  afterward: Afterward
  drain(): Promise<void>
  spans(): SpanJson[]
} {
  const driver = memory()
  const afterward = instance({
    tasks: [sendEmail, flaky, doomed, signup],
    driver,
    instrumentation: [otelInstrumentation(options)],
  })
  // Each test sees only the spans it made (the provider is shared by the file).
  const before = new Set(tracing.spans().map((s) => s.spanId))
  return {
    afterward,
    async drain() {
      await afterward.worker().start()
      await driver.drain()
    },
    spans: () => tracing.spans().filter((s) => !before.has(s.spanId)),
  }
}

/** Defers `defer` inside an active 'request' span, flushes, and ends the span. */
async function inRequest(
  afterward: Afterward,
  defer: (scope: ReturnType<Afterward['scope']>) => void,
) {
  await appTracer.startActiveSpan('request', async (span) => {
    const scope = afterward.scope({ requestId: 'req-1' })
    defer(scope)
    await scope.flush()
    span.end()
  })
}

describe('otelInstrumentation on memory()', () => {
  it('puts the send span under the request and the process span, with the task run inside it, under the send span', async () => {
    const { afterward, drain, spans } = setUp()
    let jobId = ''
    await inRequest(afterward, (scope) => {
      jobId = scope.defer(sendEmail, { to: 'ada@example.com' }).id
    })
    await drain()

    const all = spans()
    const request = one(all, 'request')
    const send = one(all, 'send mails')
    const process = one(all, 'process mails')
    const smtp = one(all, 'smtp')
    expect(new Set(all.map((s) => s.traceId))).toEqual(new Set([request.traceId]))
    expect(request.events).toEqual([
      {
        name: 'afterward.defer',
        attributes: {
          'messaging.message.id': jobId,
          'afterward.task': 'send-email',
          'messaging.destination.name': 'mails',
        },
      },
    ])
    expect(send).toMatchObject({
      kind: SpanKind.PRODUCER,
      parentSpanId: request.spanId,
      status: { code: SpanStatusCode.UNSET },
      attributes: {
        'messaging.system': 'afterward',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': 'mails',
        'messaging.message.id': jobId,
        'afterward.task': 'send-email',
        'afterward.request_id': 'req-1',
      },
    })
    expect(process).toMatchObject({
      kind: SpanKind.CONSUMER,
      parentSpanId: send.spanId,
      links: [{ traceId: send.traceId, spanId: send.spanId }],
      status: { code: SpanStatusCode.UNSET },
      attributes: {
        'messaging.system': 'afterward',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': 'mails',
        'messaging.message.id': jobId,
        'afterward.task': 'send-email',
        'afterward.attempt': 1,
        'afterward.max_attempts': 1,
        'afterward.request_id': 'req-1',
        'afterward.outcome': 'completed',
      },
    })
    expect(smtp.parentSpanId).toBe(process.spanId)
    expect(process.attributes).not.toHaveProperty('afterward.redelivered')
  })

  it('marks the process span of a run that recovers a job cut off earlier: afterward.redelivered', async () => {
    const first = deferred()
    const stubborn = defineTask({
      name: 'stubborn',
      async run(_input: null, ctx) {
        if (ctx.job.redelivered) return
        first.resolve()
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
      },
    })
    const driver = memory()
    const afterward = instance({
      tasks: [stubborn],
      driver,
      instrumentation: [otelInstrumentation()],
    })
    const before = new Set(tracing.spans().map((s) => s.spanId))
    const worker = afterward.worker({ gracePeriod: 10 })
    await worker.start()
    const { id } = await afterward.enqueue(stubborn, null)
    await first.promise
    await worker.close() // past its grace period: the job is handed back
    await afterward.worker().start()
    await afterward.jobs.wait(id)
    const runs = tracing
      .spans()
      .filter((s) => !before.has(s.spanId) && s.name === 'process default')
      .map((s) => [s.attributes['afterward.outcome'], s.attributes['afterward.redelivered']])
    expect(runs).toEqual([
      ['handed-back', undefined],
      ['completed', true],
    ])
  })

  it('records a retried attempt and a failed job with status ERROR and the exception', async () => {
    const { afterward, drain, spans } = setUp()
    const ids: string[] = []
    await inRequest(afterward, (scope) => {
      ids.push(scope.defer(flaky, null).id, scope.defer(doomed, null).id)
    })
    await drain()

    const all = spans()
    const send = one(all, 'send default')
    expect(send.attributes).toMatchObject({
      'messaging.batch.message_count': 2,
      'afterward.job_ids': ids,
    })
    expect(send.attributes).not.toHaveProperty('messaging.message.id')
    const processes = all.filter((s) => s.name === 'process default')
    const byTask = (task: string) =>
      processes
        .filter((s) => s.attributes['afterward.task'] === task)
        .sort(
          (a, b) =>
            Number(a.attributes['afterward.attempt']) - Number(b.attributes['afterward.attempt']),
        )
    const [retried, succeeded] = byTask('flaky')
    expect(retried).toMatchObject({
      parentSpanId: send.spanId,
      status: { code: SpanStatusCode.ERROR, message: 'smtp timeout' },
      attributes: {
        'afterward.attempt': 1,
        'afterward.outcome': 'retrying',
        'afterward.retry.delay_ms': 1,
        'error.type': 'Error',
      },
      events: [{ name: 'exception', attributes: { 'exception.message': 'smtp timeout' } }],
    })
    expect(succeeded).toMatchObject({
      parentSpanId: send.spanId,
      status: { code: SpanStatusCode.UNSET },
      attributes: { 'afterward.attempt': 2, 'afterward.outcome': 'completed' },
    })
    const [failed, ...more] = byTask('doomed')
    expect(more).toEqual([])
    expect(failed).toMatchObject({
      status: { code: SpanStatusCode.ERROR, message: 'address rejected' },
      attributes: {
        'afterward.attempt': 1,
        'afterward.max_attempts': 5,
        'afterward.outcome': 'failed',
        'error.type': 'AFTERWARD_PERMANENT',
      },
    })
  })

  it('records an enqueue the broker refused on the send span, with status ERROR', async () => {
    const { afterward, spans } = setUp()
    const scope = afterward.scope({
      producer: { enqueue: () => Promise.reject(new Error('connection refused')) },
    })
    scope.defer(sendEmail, { to: 'ada@example.com' })
    await expect(scope.flush()).rejects.toMatchObject({ code: 'AFTERWARD_ENQUEUE_FAILED' })
    const send = one(spans(), 'send mails')
    expect(send.status.code).toBe(SpanStatusCode.ERROR)
    expect(send.status.message).toMatch(/connection refused/)
    expect(send.attributes['error.type']).toBe('AFTERWARD_ENQUEUE_FAILED')
  })

  it("chains a task's follow-up jobs: their send span under the process span that deferred them", async () => {
    const { afterward, drain, spans } = setUp()
    await afterward.enqueue(signup, null)
    await drain()
    const all = spans()
    const [firstSend, followUpSend] = all.filter((s) => s.name === 'send mails')
    const parentProcess = all.find(
      (s) => s.attributes['afterward.task'] === 'signup' && s.name === 'process mails',
    )!
    const childProcess = all.find(
      (s) => s.attributes['afterward.task'] === 'send-email' && s.name === 'process mails',
    )!
    // Outside any request, the first send span starts the trace.
    expect(firstSend!.parentSpanId).toBeUndefined()
    expect(parentProcess.parentSpanId).toBe(firstSend!.spanId)
    expect(one(all, 'smtp').parentSpanId).toBe(childProcess.spanId)
    expect(followUpSend!.parentSpanId).toBe(parentProcess.spanId)
    expect(childProcess.parentSpanId).toBe(followUpSend!.spanId)
    expect(new Set(all.map((s) => s.traceId)).size).toBe(1)
  })

  it('with newTrace, starts each process span in a trace of its own, linked to the send span', async () => {
    const { afterward, drain, spans } = setUp({ newTrace: true })
    await inRequest(afterward, (scope) => void scope.defer(sendEmail, { to: 'ada@example.com' }))
    await drain()
    const all = spans()
    const send = one(all, 'send mails')
    const process = one(all, 'process mails')
    expect(process.traceId).not.toBe(send.traceId)
    expect(process.parentSpanId).toBeUndefined()
    expect(process.links).toEqual([{ traceId: send.traceId, spanId: send.spanId }])
    expect(one(all, 'smtp').parentSpanId).toBe(process.spanId)
  })

  it('counts on the send span the jobs a live job with the same key deduplicated', async () => {
    const { afterward, spans } = setUp()
    await afterward.enqueue(sendEmail, { to: 'ada@example.com' }, { key: 'ada' })
    const again = await afterward.enqueue(sendEmail, { to: 'ada@example.com' }, { key: 'ada' })
    expect(again.deduplicated).toBe(true)
    const [first, second] = spans().filter((s) => s.name === 'send mails')
    expect(first!.attributes).not.toHaveProperty('afterward.deduplicated')
    expect(second!.attributes['afterward.deduplicated']).toBe(1)
  })

  it('names the messaging system as told', async () => {
    const { afterward, drain, spans } = setUp({ system: 'redis' })
    await afterward.enqueue(sendEmail, { to: 'ada@example.com' })
    await drain()
    for (const name of ['send mails', 'process mails']) {
      expect(one(spans(), name).attributes['messaging.system']).toBe('redis')
    }
  })

  it('refuses bad options up front, saying what to pass', () => {
    const cases: [unknown, RegExp][] = [
      [null, /pass an options object/],
      [{ tracerProvider: {} }, /tracerProvider must be an OpenTelemetry TracerProvider/],
      [{ system: '' }, /system must be a non-empty string \(got ""\)/],
      [{ newTrace: 'yes' }, /newTrace must be true or false \(got "yes"\)/],
    ]
    for (const [options, message] of cases) {
      const error = thrown(() => otelInstrumentation(options as OtelInstrumentationOptions))
      expect(error).toMatchObject({ code: ErrorCode.CONFIG_INVALID })
      expect((error as Error).message).toMatch(message)
    }
  })
})
