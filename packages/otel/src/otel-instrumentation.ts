import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Context,
  type Link,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api'
import {
  AfterwardError,
  ErrorCode,
  type AttemptEnd,
  type DeliveredJob,
  type Instrumentation,
  type TraceCarrier,
} from '@afterward/core'
import {
  Attr,
  commonQueue,
  deduplicatedCount,
  errorType,
  outcomeOf,
  processAttributes,
  sendAttributes,
} from './attributes.js'

/** Options of `otelInstrumentation`. */
export interface OtelInstrumentationOptions {
  /** Where spans go. @defaultValue the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider
  /** `messaging.system` on every span. @defaultValue 'afterward' */
  system?: string
  /**
   * Start each attempt's process span in a trace of its own, linked to the send span, instead of
   * as its child in the request's trace: for jobs delayed by hours or deferred by thousands at
   * once, where one trace per request would grow too long. @defaultValue false
   */
  newTrace?: boolean
}

/**
 * OpenTelemetry traces for Afterward jobs: a `afterward.defer` event on the active span at each
 * defer, a PRODUCER `send <queue>` span per enqueue whose context each job carries, and a
 * CONSUMER `process <queue>` span per attempt, child of that send span (in the request's trace,
 * in whichever process the worker runs), with the task run inside it. Failed and retried
 * attempts and refused enqueues end with status ERROR.
 *
 * @example
 * import { otelInstrumentation } from '@afterward/otel'
 * export const afterward = createAfterward({
 *   tasks: [sendWelcomeEmail],
 *   driver: bullmq({ connection: process.env.REDIS_URL! }),
 *   instrumentation: [otelInstrumentation()],
 * })
 */
export function otelInstrumentation(options: OtelInstrumentationOptions = {}): Instrumentation {
  checkOptions(options)
  const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    '@afterward/otel',
  )
  const system = options.system ?? 'afterward'
  const newTrace = options.newTrace ?? false

  return {
    defer(job) {
      const active = context.active()
      const span = trace.getSpan(active)
      if (span === undefined || !trace.isSpanContextValid(span.spanContext())) return undefined
      if (span.isRecording()) {
        span.addEvent('afterward.defer', {
          [Attr.MESSAGE_ID]: job.id,
          [Attr.TASK]: job.task,
          [Attr.DESTINATION]: job.options.queue,
        })
      }
      return inject(active)
    },

    enqueue(records, send) {
      const queue = commonQueue(records)
      const span = tracer.startSpan(queue === undefined ? 'send' : `send ${queue}`, {
        kind: SpanKind.PRODUCER,
        attributes: sendAttributes(system, records, queue),
      })
      const ctx = trace.setSpan(context.active(), span)
      // The send span's context is each job's creation context (no per-job "create" spans: a
      // request's jobs are stored in one batch, and the process spans tell them apart by id).
      const carrier = inject(ctx)
      if (carrier !== undefined) for (const record of records) record.trace = carrier
      return context.with(ctx, send).then(
        (results) => {
          const deduplicated = deduplicatedCount(results)
          if (deduplicated > 0) span.setAttribute(Attr.DEDUPLICATED, deduplicated)
          span.end()
          return results
        },
        (err: unknown) => {
          endWithError(span, err)
          throw err
        },
      )
    },

    attempt(job, run) {
      const carried = extract(job)
      const creation = trace.getSpanContext(carried)
      const links: Link[] =
        creation !== undefined && trace.isSpanContextValid(creation) ? [{ context: creation }] : []
      // A new trace keeps the carried baggage, not the carried span.
      const parent = newTrace ? trace.deleteSpan(carried) : carried
      const span = tracer.startSpan(
        `process ${job.options.queue}`,
        { kind: SpanKind.CONSUMER, attributes: processAttributes(system, job), links },
        parent,
      )
      return context.with(trace.setSpan(parent, span), run).then(
        (end) => {
          ended(span, end)
          return end
        },
        (err: unknown) => {
          endWithError(span, err)
          throw err
        },
      )
    },
  }
}

function inject(ctx: Context): TraceCarrier | undefined {
  const carrier: TraceCarrier = {}
  propagation.inject(ctx, carrier)
  for (const _ in carrier) return carrier
  return undefined
}

function extract(job: DeliveredJob): Context {
  return job.trace === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, job.trace)
}

function ended(span: Span, end: AttemptEnd): void {
  span.setAttribute(Attr.OUTCOME, outcomeOf(end))
  if (end.type === 'retry') span.setAttribute(Attr.RETRY_DELAY, end.delay)
  if (end.type === 'retry' || end.type === 'failed') endWithError(span, end.error)
  else span.end()
}

function endWithError(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err))
  span.recordException(error)
  span.setAttribute(Attr.ERROR_TYPE, errorType(error))
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
  span.end()
}

function checkOptions(options: OtelInstrumentationOptions): void {
  const invalid = (message: string): AfterwardError =>
    new AfterwardError(ErrorCode.CONFIG_INVALID, `otelInstrumentation: ${message}.`)
  if (typeof options !== 'object' || options === null) {
    throw invalid('pass an options object, or nothing: otelInstrumentation({ newTrace: true })')
  }
  const { tracerProvider, system, newTrace } = options
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    throw invalid(
      'tracerProvider must be an OpenTelemetry TracerProvider (with getTracer); leave it out to use the global one',
    )
  }
  if (system !== undefined && (typeof system !== 'string' || system.length === 0)) {
    throw invalid(`system must be a non-empty string (got ${JSON.stringify(system)})`)
  }
  if (newTrace !== undefined && typeof newTrace !== 'boolean') {
    throw invalid(`newTrace must be true or false (got ${JSON.stringify(newTrace)})`)
  }
}
