// A worker process for the cross-process test: its own OpenTelemetry SDK, exporting to memory,
// and an Afterward worker on the test's Redis prefix. It says `ready` once taking jobs, answers
// `spans` with what it exported so far (as JSON, over IPC), and closes on `close`.
import { pino } from 'pino'
import { bullmq, createAfterward } from '@afterward/core'
import { otelInstrumentation } from '@afterward/otel'
import { welcomeEmail } from './tasks.js'
import { startTracing } from './tracing.js'

const tracing = startTracing()
const afterward = createAfterward({
  tasks: [welcomeEmail],
  driver: bullmq({ connection: process.env.REDIS_URL!, prefix: process.env.AFTERWARD_PREFIX! }),
  logger: pino({ level: 'silent' }),
  instrumentation: [otelInstrumentation()],
})
const worker = afterward.worker()
await worker.start()

process.on('message', (message) => {
  if (message === 'spans') process.send!({ spans: tracing.spans() })
  if (message === 'close') {
    void afterward
      .close()
      .then(() => tracing.provider.shutdown())
      .then(() => process.disconnect())
  }
})
process.send!('ready')
