// What a request's headers give its jobs: the request id and the W3C trace context.
import { randomUUID } from 'node:crypto'

/** The header a request id is read from and echoed in. */
export const REQUEST_ID_HEADER = 'X-Request-Id'

/** Request headers as Node's `IncomingMessage` has them (names in lower case). */
export type HttpHeaders = Record<string, string | string[] | undefined>

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

// version-traceid-parentid-flags, lower-case hex (W3C Trace Context, level 1). Version ff is
// invalid; later versions may append fields after a dash, which a level-1 reader keeps.
const TRACEPARENT = /^(?!ff)[\da-f]{2}-(?!0{32})[\da-f]{32}-(?!0{16})[\da-f]{16}-[\da-f]{2}(-|$)/
// A tracestate of at most 32 list members fits in 512 characters; longer ones may be dropped.
const TRACESTATE_MAX = 512

/**
 * The W3C trace context (`traceparent`, `tracestate`) of a request's headers, carried to its
 * jobs. A malformed `traceparent` is ignored with its `tracestate`, as the W3C spec says, and so
 * is a `tracestate` longer than 512 characters.
 *
 * @example
 * afterward.scope({ requestId, trace: traceFrom(req.headers) })
 */
export function traceFrom(headers: HttpHeaders): Record<string, string> | undefined {
  const traceparent = headers['traceparent']
  if (typeof traceparent !== 'string' || traceparent.length > 512) return undefined
  if (!TRACEPARENT.test(traceparent)) return undefined
  const tracestate = headers['tracestate']
  return typeof tracestate === 'string' && tracestate.length <= TRACESTATE_MAX
    ? { traceparent, tracestate }
    : { traceparent }
}
