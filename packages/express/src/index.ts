export { afterwardErrorHandler, afterwardMiddleware, deferOptions } from './middleware.js'
export type { AfterwardMiddleware, AfterwardMiddlewareOptions } from './middleware.js'
