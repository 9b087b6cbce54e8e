// The keep/drop rule of a request's jobs, and the counters it keeps. RequestLifecycle applies it
// at the right moments; these are its building blocks.
import type { DeferScope } from '../defer-scope.js'
import { AfterwardEnqueueError } from '../errors.js'

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

/**
 * A fresh set of counters.
 *
 * @example
 * const stats = createFlushStats() // { stored: 0, discarded: 0, ... }
 */
export function createFlushStats(): FlushStats {
  return { stored: 0, discarded: 0, enqueueFailures: 0, afterResponseFailures: 0 }
}

/** Where the HTTP lifecycle writes its error lines: a pino logger, Fastify's `request.log`... */
export interface HttpLog {
  error(details: object, message: string): void
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
 * res.once('close', () => settleAfterResponse(scope, res.statusCode, stats, afterward.log))
 */
export function settleAfterResponse(
  scope: DeferScope,
  statusCode: number,
  stats: FlushStats,
  log: HttpLog,
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
