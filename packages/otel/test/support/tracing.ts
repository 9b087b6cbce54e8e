// The OpenTelemetry SDK as an app would set it up (the global provider, the AsyncLocalStorage
// context manager, W3C propagation), exporting to memory; spans as plain JSON, so that spans
// from a worker process and from the test compare the same way.
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node'

export interface SpanJson {
  name: string
  kind: number
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  attributes: Record<string, unknown>
  status: { code: number; message?: string }
  events: { name: string; attributes: Record<string, unknown> }[]
  links: { traceId: string; spanId: string }[]
}

/** Registers the global tracer provider; `spans()` returns what ended so far. */
export function startTracing(): { spans(): SpanJson[]; provider: NodeTracerProvider } {
  const exporter = new InMemorySpanExporter()
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  provider.register({ contextManager: new AsyncLocalStorageContextManager() })
  return { spans: () => exporter.getFinishedSpans().map(toJson), provider }
}

export function toJson(span: ReadableSpan): SpanJson {
  const { traceId, spanId } = span.spanContext()
  return {
    name: span.name,
    kind: span.kind,
    traceId,
    spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: { ...span.attributes },
    status: { ...span.status },
    events: span.events.map((e) => ({ name: e.name, attributes: { ...e.attributes } })),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  }
}

/** The one span named `name`; throws when there is none or more than one. */
export function one(spans: SpanJson[], name: string): SpanJson {
  const found = spans.filter((s) => s.name === name)
  if (found.length !== 1) {
    throw new Error(
      `expected one span '${name}', found ${found.length}: ${spans.map((s) => s.name).join(', ')}`,
    )
  }
  return found[0]!
}
