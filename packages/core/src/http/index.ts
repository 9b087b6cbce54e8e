// @afterward/core/http: what an HTTP adapter needs. @afterward/fastify and @afterward/express are
// built on it alone; see "Writing an adapter" in the README.
export { createHttpLifecycle, HttpLifecycle } from './http-lifecycle.js'
export { RequestLifecycle } from './request-lifecycle.js'
export type {
  HttpExchange,
  HttpRequest,
  HttpResponse,
  RequestLifecycleShared,
} from './request-lifecycle.js'
export { checkAdapterOptions } from './adapter-options.js'
export type { FlushMode, HttpAdapterOptions } from './adapter-options.js'
export { REQUEST_ID_HEADER, requestIdFrom, traceFrom } from './request-headers.js'
export type { HttpHeaders } from './request-headers.js'
export { createFlushStats, settleAfterResponse, settleScope } from './settle.js'
export type { FlushStats, HttpLog } from './settle.js'
export { enqueueFailureBody } from './enqueue-failure.js'
