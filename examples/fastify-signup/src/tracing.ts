// OpenTelemetry tracing for the example, off unless the environment asks for it, so that
// `pnpm start` and `pnpm demo` need no collector and print nothing more:
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318   spans to a collector (Jaeger, Tempo, ...)
//   OTEL_TRACES_EXPORTER=console                         spans printed on stdout
// The HTTP instrumentation gives each request its server span; @afterward/otel adds the send span
// of the request's jobs and a process span for each attempt, in the request's trace, in whichever
// process the worker runs. Start it before Fastify is loaded (server.ts does): the HTTP
// instrumentation patches `http` as Fastify requires it.
import { SetupError, type TracingSetup } from '@afterward/example-shared'
import { otelInstrumentation } from '@afterward/otel'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node'

/** Options of `startTracing`, for tests. */
export interface TracingOptions {
  /** Export spans here, as they end, whatever the environment says. @defaultValue from `env` */
  exporter?: SpanExporter
  /** `service.name` unless `OTEL_SERVICE_NAME` is set. @defaultValue 'afterward-example' */
  serviceName?: string
}

/**
 * Registers the OpenTelemetry SDK (the global tracer provider, W3C propagation, the HTTP
 * instrumentation) when `env` asks for traces, and returns Afterward's instrumentation for it,
 * for `createServices(settings, logger, { tracing })`.
 *
 * @example
 * const tracing = startTracing() // first, before Fastify is imported
 * const services = await createServices(settings, logger, { tracing })
 */
export function startTracing(
  env: NodeJS.ProcessEnv = process.env,
  options: TracingOptions = {},
): TracingSetup {
  const chosen = spanProcessor(env, options.exporter)
  if (chosen === undefined) {
    return { instrumentation: [], description: undefined, shutdown: () => Promise.resolve() }
  }
  const serviceName = env['OTEL_SERVICE_NAME'] || (options.serviceName ?? 'afterward-example')
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [chosen.processor],
  })
  provider.register()
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    // Prometheus scrapes every few seconds: no trace for each scrape.
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/metrics' }),
    ],
  })
  return {
    instrumentation: [otelInstrumentation({ tracerProvider: provider })],
    description: `${chosen.description} (service.name ${serviceName})`,
    async shutdown() {
      unregister()
      await provider.shutdown()
    },
  }
}

function spanProcessor(
  env: NodeJS.ProcessEnv,
  exporter: SpanExporter | undefined,
): { processor: SpanProcessor; description: string } | undefined {
  if (exporter !== undefined) {
    return {
      processor: new SimpleSpanProcessor(exporter),
      description: 'spans to the given exporter',
    }
  }
  const endpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_ENDPOINT']
  const kind = env['OTEL_TRACES_EXPORTER'] || (endpoint ? 'otlp' : 'none')
  switch (kind) {
    case 'none':
      return undefined
    case 'console':
      return {
        processor: new SimpleSpanProcessor(new ConsoleSpanExporter()),
        description: 'spans printed on stdout',
      }
    case 'otlp':
      // The exporter reads OTEL_EXPORTER_OTLP_* itself (endpoint, headers); without an endpoint
      // it sends to http://localhost:4318.
      return {
        processor: new BatchSpanProcessor(new OTLPTraceExporter()),
        description: `spans to ${endpoint || 'http://localhost:4318'} over OTLP/HTTP`,
      }
    default:
      throw new SetupError(
        `OTEL_TRACES_EXPORTER=${kind} is not supported by this example: use otlp, console or none.`,
      )
  }
}
