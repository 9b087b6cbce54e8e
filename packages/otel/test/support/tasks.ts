// The tasks of the cross-process test, shared by the app (the test) and the worker process.
import { trace } from '@opentelemetry/api'
import { defineTask } from '@afterward/core'

export const welcomeEmail = defineTask({
  name: 'otel-welcome-email',
  queue: 'mails',
  run: (input: { userId: number }) =>
    trace.getTracer('app').startActiveSpan('render email', (span) => {
      span.setAttribute('user.id', input.userId)
      span.end()
    }),
})
