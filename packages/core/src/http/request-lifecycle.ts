// One request's jobs from its first defer to its response: the rule that keeps or drops them,
// applied at the three moments every HTTP framework can report.
import type { Afterward } from '../afterward.js'
import type { DeferScope } from '../defer-scope.js'
import type { JobOptions } from '../options.js'
import type { AnyTask, DeferArgs, DeferredJob } from '../task.js'
import { AfterwardError, AfterwardInputError } from '../errors.js'
import type { FlushMode } from './adapter-options.js'
import { REQUEST_ID_HEADER, requestIdFrom, traceFrom, type HttpHeaders } from './request-headers.js'
import { settleAfterResponse, settleScope, type FlushStats, type HttpLog } from './settle.js'

/** The request side as the lifecycle reads it; Node's `IncomingMessage` is one. */
export interface HttpRequest {
  readonly method?: string | undefined
  /** For log lines only. */
  readonly url?: string | undefined
  /** Header names in lower case, as Node gives them. */
  readonly headers: HttpHeaders
}

/** The response side as the lifecycle uses it; Node's `ServerResponse` is one. */
export interface HttpResponse {
  /** True once the status line and headers went out. */
  readonly headersSent: boolean
  readonly statusCode: number
  setHeader(name: string, value: string): unknown
}

/** One request, as an adapter hands it to `HttpLifecycle.open`. */
export interface HttpExchange {
  request: HttpRequest
  response: HttpResponse
  /** Route-level job options: above the task's, below the call site's. */
  options?: JobOptions | undefined
  /**
   * Where the request's refused defers and storage failures are logged.
   * @defaultValue afterward.log
   */
  log?: HttpLog | undefined
}

/** What a request's lifecycle shares with its adapter's (`HttpLifecycle` is one). */
export interface RequestLifecycleShared {
  readonly afterward: Afterward
  readonly flush: FlushMode
  readonly stats: FlushStats
}

/**
 * One request's defer scope, driven by its adapter through three calls: `handlerDone(status)`
 * when the handler has answered (before anything is written), `handlerErrored()` when it threw,
 * `responseClosed()` when the response is over or the connection went away. Made by
 * `HttpLifecycle.open` at the request's first defer.
 *
 * @example
 * const request = lifecycle.open({ request: req, response: res }, task)
 * request.defer(task, input)
 * const storing = request.handlerDone(res.statusCode) // hold the response while it is pending
 */
export class RequestLifecycle {
  /** Stored on every job of the request and echoed in its `X-Request-Id` response header. */
  readonly requestId: string
  readonly scope: DeferScope
  readonly #shared: RequestLifecycleShared
  readonly #exchange: HttpExchange
  readonly #log: HttpLog
  /** The status `handlerDone` reported (after-response mode keeps the jobs until the close). */
  #status: number | undefined
  #closed = false

  /**
   * Reads the request id (a valid `X-Request-Id`, else a new UUID) and the trace headers, opens
   * the scope and echoes the id in the response's `X-Request-Id`. The response must not have
   * started (`HttpLifecycle.open` checks it).
   */
  constructor(exchange: HttpExchange, shared: RequestLifecycleShared) {
    const { request, response } = exchange
    this.requestId = requestIdFrom(request.headers['x-request-id'])
    this.scope = shared.afterward.scope({
      requestId: this.requestId,
      options: exchange.options,
      trace: traceFrom(request.headers),
    })
    this.#exchange = exchange
    this.#log = exchange.log ?? shared.afterward.log
    this.#shared = shared
    response.setHeader(REQUEST_ID_HEADER, this.requestId)
  }

  /**
   * Buffers a job of the request (see `DeferScope.defer`). A refusal (bad input, unknown task, a
   * scope already settled) is logged with the request id, method and URL, then thrown.
   */
  defer<T extends AnyTask>(task: T, ...args: DeferArgs<T>): DeferredJob {
    try {
      return this.scope.defer(task, ...args)
    } catch (err) {
      logRefusal(this.#log, err, task, this.requestId, this.#exchange.request)
      throw err
    }
  }

  /**
   * Writes a job of the request inside the database transaction `tx` (see `DeferScope.deferIn`):
   * it exists if and only if `tx` commits, whatever the response. Refusals are logged as
   * `defer`'s are, then thrown.
   */
  async deferIn<T extends AnyTask>(
    tx: unknown,
    task: T,
    ...args: DeferArgs<T>
  ): Promise<DeferredJob> {
    try {
      return await this.scope.deferIn(tx, task, ...args)
    } catch (err) {
      logRefusal(this.#log, err, task, this.requestId, this.#exchange.request)
      throw err
    }
  }

  /**
   * The handler has answered with `statusCode`, and nothing is written yet. Below 400 in
   * `before-response` mode, returns a promise that settles once the jobs are stored: hold the
   * response until then, and answer 503 (`enqueueFailureBody()`) if it rejects with
   * `AfterwardEnqueueError`. Returns `undefined` when there is nothing to wait for: the jobs were
   * dropped (status >= 400), there were none, or they wait for `responseClosed`
   * (`after-response` mode).
   */
  handlerDone(statusCode: number): Promise<void> | undefined {
    const { scope } = this
    if (scope.state !== 'open') return undefined
    const { flush, stats } = this.#shared
    if (statusCode >= 400) {
      stats.discarded += scope.discard()
      return undefined
    }
    if (flush === 'after-response') {
      this.#status = statusCode
      if (this.#closed) this.#settleAfterResponse(statusCode)
      return undefined
    }
    if (scope.size === 0) {
      // Closes the scope: a defer from now on could not be stored before the response.
      void scope.flush()
      return undefined
    }
    return settleScope(scope, statusCode, stats).catch((err: unknown) => {
      this.#log.error(
        { err, requestId: this.requestId },
        "the request's jobs could not be stored: answering 503 (AFTERWARD_ENQUEUE_FAILED)",
      )
      throw err
    })
  }

  /** The handler (or a hook) threw: the jobs are dropped, whatever status is answered then. */
  handlerErrored(): void {
    if (this.scope.state === 'open') this.#shared.stats.discarded += this.scope.discard()
  }

  /**
   * The response is over, or its connection closed. Stores what is still buffered
   * (`after-response` mode, or a response written around the framework's hooks) with the status
   * that went out; a failure is logged and counted, never thrown. A connection that closed while
   * the handler still runs changes nothing: the client asked, so `handlerDone` decides.
   */
  responseClosed(): void {
    this.#closed = true
    if (this.scope.state !== 'open') return
    const { response } = this.#exchange
    const status = this.#status ?? (response.headersSent ? response.statusCode : undefined)
    if (status !== undefined) this.#settleAfterResponse(status)
  }

  #settleAfterResponse(status: number): void {
    void settleAfterResponse(this.scope, status, this.#shared.stats, this.#log)
  }
}

/** Logs a refused defer with what finds its request; errors not from Afterward are ignored. */
export function logRefusal(
  log: HttpLog,
  err: unknown,
  task: { name: string },
  requestId: string,
  request: HttpRequest,
): void {
  if (!(err instanceof AfterwardError)) return
  const path = err instanceof AfterwardInputError ? err.path : undefined
  log.error(
    { err, task: task.name, path, requestId, method: request.method, url: request.url },
    'defer refused',
  )
}
