// The framework-free half of the HTTP adapters: options, request ids, trace headers and the rule
// that settles a request's defer scope from its status. @afterward/fastify and @afterward/express
// only wire these to their lifecycles, so both frameworks behave the same.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Afterward } from './afterward.js'
import type { DeferScope } from './defer-scope.js'
import { AfterwardEnqueueError, AfterwardError, ErrorCode } from './errors.js'

/** When a request's jobs are stored. */
export type FlushMode = 'before-response' | 'after-response'

/** Options shared by the Fastify plugin and the Express middleware. */
export interface HttpAdapterOptions {
  /** The instance made by `createAfterward`. Required. */
  afterward: Afterward
  /**
   * `before-response` stores a request's jobs after the handler and before the first byte of the
   * response, and answers 503 if that fails. `after-response` stores them once the response has
   * been sent (lower latency): a failure is logged and counted in `stats.afterResponseFailures`,
   * the client never learns about it. @defaultValue 'before-response'
   */
  flush?: FlushMode
}

/** Counters of one adapter, for metrics. They only grow. */
export interface FlushStats {
  /** Jobs stored. */
  stored: number
  /** Jobs dropped because their request ended with a status >= 400 or an error. */
  discarded: number
  /** Requests answered with a 503 because their jobs could not be stored. */
  enqueueFailures: number
  /** Requests in `after-response` mode whose jobs could not be stored (logged, not answered). */
  afterResponseFailures: number
}

/** A fresh set of counters. */
export function createFlushStats(): FlushStats {
  return { stored: 0, discarded: 0, enqueueFailures: 0, afterResponseFailures: 0 }
}

/**
 * Checks an adapter's options up front and applies the defaults.
 *
 * @example
 * const { afterward, flush } = checkAdapterOptions(options, '@afterward/fastify')
 */
export function checkAdapterOptions<O extends HttpAdapterOptions>(
  options: O,
  adapter: string,
): O & { flush: FlushMode } {
  if (typeof options?.afterward?.scope !== 'function') {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `${adapter}: \`afterward\` is required; pass the instance made by createAfterward({ tasks, driver }).`,
      { retryable: false },
    )
  }
  const flush = options.flush ?? 'before-response'
  if (flush !== 'before-response' && flush !== 'after-response') {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `${adapter}: flush must be 'before-response' or 'after-response' (got ${JSON.stringify(flush)}).`,
      { retryable: false },
    )
  }
  return { ...options, flush }
}

const REQUEST_ID = /^[\w.:-]{1,200}$/

/**
 * The request id to use: the incoming header value when it is 1-200 characters of letters,
 * digits, `_`, `.`, `:` or `-` (anything else could forge log lines or bloat keys), otherwise a
 * new UUID.
 *
 * @example
 * const requestId = requestIdFrom(req.headers['x-request-id'])
 */
export function requestIdFrom(header: unknown): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID()
}

/**
 * The W3C trace context (`traceparent`, `tracestate`) of a request's headers, carried to its jobs.
 *
 * @example
 * afterward.scope({ requestId, trace: traceFrom(req.headers) })
 */
export function traceFrom(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> | undefined {
  const traceparent = headers['traceparent']
  if (typeof traceparent !== 'string') return undefined
  const tracestate = headers['tracestate']
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent }
}

/**
 * Settles a request's scope from its final status: stores the jobs below 400, drops them from
 * 400 on. Rejects with `AfterwardEnqueueError` (already bounded by `enqueueTimeout`) when the
 * broker did not store them; the caller turns that into a 503.
 *
 * @example
 * await settleScope(scope, reply.statusCode, stats) // before the first byte goes out
 */
export function settleScope(
  scope: DeferScope,
  statusCode: number,
  stats: FlushStats,
): Promise<void> {
  return settle(scope, statusCode, stats).catch((err: unknown) => {
    stats.enqueueFailures += 1
    throw err instanceof AfterwardEnqueueError
      ? err
      : new AfterwardEnqueueError(`Storing the request's jobs failed: ${String(err)}`, {
          cause: err,
        })
  })
}

/**
 * `after-response` mode: settles the scope once the response is out. Never rejects: a failure
 * is logged with the request id and counted in `stats.afterResponseFailures`.
 *
 * @example
 * res.once('finish', () => settleAfterResponse(scope, res.statusCode, stats, afterward.log))
 */
export function settleAfterResponse(
  scope: DeferScope,
  statusCode: number,
  stats: FlushStats,
  log: Pick<Logger, 'error'> | { error(details: object, message: string): void },
): Promise<void> {
  return settle(scope, statusCode, stats).catch((err: unknown) => {
    stats.afterResponseFailures += 1
    log.error(
      { err, requestId: scope.requestId },
      'jobs of a request that was already answered could not be stored (flush: after-response)',
    )
  })
}

function settle(scope: DeferScope, statusCode: number, stats: FlushStats): Promise<void> {
  if (scope.state !== 'open') return Promise.resolve()
  if (statusCode >= 400) {
    stats.discarded += scope.discard()
    return Promise.resolve()
  }
  return scope.flush().then((stored) => {
    stats.stored += stored.length
  })
}

/**
 * The JSON body of the 503 a client gets when its request's jobs could not be stored, in
 * Fastify's error format. The details stay in the server log.
 *
 * @example
 * res.status(503).json(enqueueFailureBody())
 */
export function enqueueFailureBody(): {
  statusCode: 503
  code: typeof ErrorCode.ENQUEUE_FAILED
  error: 'Service Unavailable'
  message: string
} {
  return {
    statusCode: 503,
    code: ErrorCode.ENQUEUE_FAILED,
    error: 'Service Unavailable',
    message:
      'The request was handled but its background jobs could not be stored. Nothing will run in the background for it; retry later.',
  }
}
