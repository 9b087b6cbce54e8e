// What the client of a request whose jobs could not be stored gets instead of its response.
import { ErrorCode } from '../errors.js'

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
