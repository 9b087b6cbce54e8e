export { otelInstrumentation } from './otel-instrumentation.js'
export type { OtelInstrumentationOptions } from './otel-instrumentation.js'
export { Attr } from './attributes.js'
