import type { TracerProvider } from '@opentelemetry/api'
import { describe, expectTypeOf, it } from 'vitest'
import type { AfterwardOptions, Instrumentation } from '@afterward/core'
import { otelInstrumentation, type OtelInstrumentationOptions } from '@afterward/otel'

describe('otelInstrumentation types', () => {
  it('is an Instrumentation that createAfterward takes', () => {
    expectTypeOf(otelInstrumentation()).toEqualTypeOf<Instrumentation>()
    expectTypeOf([otelInstrumentation()]).toExtend<AfterwardOptions['instrumentation']>()
  })

  it('takes only its documented options', () => {
    expectTypeOf<OtelInstrumentationOptions>().toEqualTypeOf<{
      tracerProvider?: TracerProvider
      system?: string
      newTrace?: boolean
    }>()
    // @ts-expect-error an unknown option
    otelInstrumentation({ parent: 'link' })
  })
})
