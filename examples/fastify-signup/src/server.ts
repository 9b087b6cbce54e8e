// `pnpm start`: the app on the services named by the environment (embedded defaults otherwise),
// traced with OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER says so.
import { loadSettings, runMain, serve } from '@afterward/example-shared'
import { startTracing } from './tracing.js'

await runMain(async () => {
  const tracing = startTracing()
  // Loaded after tracing started, so that the HTTP instrumentation sees Fastify load `http`.
  const { startApp } = await import('./start-app.js')
  await serve('Fastify', startApp, loadSettings(), tracing)
})
