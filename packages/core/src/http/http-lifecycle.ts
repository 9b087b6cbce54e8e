// One per adapter instance: its checked options, its counters, and the door to a request's
// lifecycle, which opens at the request's first defer so that requests deferring nothing cost
// nothing.
import type { Afterward } from '../afterward.js'
import { AfterwardError, ErrorCode } from '../errors.js'
import { checkAdapterOptions, type FlushMode, type HttpAdapterOptions } from './adapter-options.js'
import { requestIdFrom } from './request-headers.js'
import {
  RequestLifecycle,
  logRefusal,
  type HttpExchange,
  type RequestLifecycleShared,
} from './request-lifecycle.js'
import { createFlushStats, type FlushStats } from './settle.js'

/**
 * The HTTP side of Afterward, written once for every framework: the adapter opens a
 * `RequestLifecycle` at a request's first defer and reports the handler's end and the
 * response's end to it; the lifecycle keeps or drops the jobs, reads and echoes the request id,
 * carries the trace headers and logs what goes wrong.
 *
 * @example
 * const lifecycle = createHttpLifecycle(options, 'my-adapter')
 * // at a request's first defer:
 * const request = lifecycle.open({ request: req, response: res }, task)
 */
export class HttpLifecycle implements RequestLifecycleShared {
  readonly afterward: Afterward
  readonly flush: FlushMode
  /** Jobs stored and discarded, 503s answered, `after-response` failures. */
  readonly stats: FlushStats = createFlushStats()

  /** Checks `options` (see `checkAdapterOptions`); `adapter` names the package in errors. */
  constructor(options: HttpAdapterOptions, adapter: string) {
    const { afterward, flush } = checkAdapterOptions(options, adapter)
    this.afterward = afterward
    this.flush = flush
  }

  /**
   * Opens the lifecycle of a request at its first defer (of `task`). Throws `AfterwardError`
   * (`AFTERWARD_CLOSED`, logged) when the response has already started: its jobs could not be
   * stored before it. The adapter then wires the request's end to the returned lifecycle.
   */
  open(exchange: HttpExchange, task: { name: string }): RequestLifecycle {
    if (exchange.response.headersSent) {
      const err = new AfterwardError(
        ErrorCode.CLOSED,
        `Cannot defer '${task.name}': the response has already started, so the job could not be stored before it. Defer before sending the response, or use afterward.enqueue().`,
        { retryable: false },
      )
      const { request } = exchange
      const requestId = requestIdFrom(request.headers['x-request-id'])
      logRefusal(exchange.log ?? this.afterward.log, err, task, requestId, request)
      throw err
    }
    return new RequestLifecycle(exchange, this)
  }
}

/**
 * Makes the lifecycle of one adapter instance (one Fastify plugin registration, one Express
 * middleware). Throws `AfterwardError` (`AFTERWARD_CONFIG_INVALID`) for bad options.
 *
 * @example
 * const lifecycle = createHttpLifecycle({ afterward, flush: 'after-response' }, 'my-adapter')
 */
export function createHttpLifecycle(options: HttpAdapterOptions, adapter: string): HttpLifecycle {
  return new HttpLifecycle(options, adapter)
}
