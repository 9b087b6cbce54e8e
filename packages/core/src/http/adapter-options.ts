// The options every HTTP adapter takes, checked once and given their defaults in one place.
import type { Afterward } from '../afterward.js'
import { AfterwardError, ErrorCode } from '../errors.js'

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

/**
 * Checks an adapter's options up front and applies the defaults. `adapter` names the package in
 * the error messages.
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
