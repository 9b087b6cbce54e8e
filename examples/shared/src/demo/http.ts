/** One HTTP exchange of the demo. */
export interface Exchange {
  method: string
  path: string
  status: number
  body: Record<string, unknown>
  /** The X-Request-Id the app answered with: the id stored on the request's jobs. */
  requestId: string
  ms: number
}

/**
 * Sends a JSON request and reads the JSON answer.
 *
 * @example
 * const signup = await send(url, 'POST', '/signup', { email: 'ada@example.com', name: 'Ada' })
 */
export async function send(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Exchange> {
  const started = performance.now()
  const response = await fetch(baseUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  })
  const text = await response.text()
  let parsed: Record<string, unknown>
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>)
  } catch {
    parsed = { text }
  }
  return {
    method,
    path,
    status: response.status,
    body: parsed,
    requestId: response.headers.get('x-request-id') ?? '(none)',
    ms: Math.round(performance.now() - started),
  }
}
