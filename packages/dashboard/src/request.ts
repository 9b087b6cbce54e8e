// A request as the dashboard sees it, and reading it: its route, a header, a POST's form field.

/** A request as the dashboard sees it. */
export interface DashboardRequest<Req = unknown> {
  method: string
  /** Where the dashboard is mounted, as the browser sees it: `''` or `'/afterward'`. */
  base: string
  /** The path below `base` with the query string: `/jobs/42?done=retried`. */
  url: string
  headers: Record<string, string | string[] | undefined>
  /**
   * A POST's form: the urlencoded text, the object a body parser made of it, or a function
   * that reads it (called only once the request passed auth).
   */
  body: unknown
  /** The framework's own request, handed to an `auth` function. */
  raw: Req
}

/**
 * The route whose pattern matches `pathname` (a trailing slash ignored), with its decoded
 * `:id` parameters; undefined when none does or a parameter is not valid percent-encoding.
 */
export function matchRoute<R>(
  routes: ReadonlyArray<[string, R]>,
  pathname: string,
): { route: R; params: string[] } | undefined {
  const parts = pathname.replace(/\/$/, '').split('/')
  for (const [pattern, route] of routes) {
    const want = pattern.replace(/\/$/, '').split('/')
    if (want.length !== parts.length) continue
    const params: string[] = []
    const ok = want.every((segment, i) => {
      if (segment !== ':id') return segment === parts[i]
      const value = safeDecode(parts[i]!)
      if (!value) return false
      params.push(value)
      return true
    })
    if (ok) return { route, params }
  }
  return undefined
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** The first value of a header (names in lower case, as Node gives them). */
export function header(headers: DashboardRequest['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** A POST's body, read only now (after auth) when the entry point passed a reader. */
export async function readBody(request: DashboardRequest<unknown>): Promise<unknown> {
  return typeof request.body === 'function' ? await (request.body as () => unknown)() : request.body
}

/** One field of a urlencoded form, whether it came as text, a Buffer or a parsed object. */
export function formField(body: unknown, name: string): unknown {
  if (typeof body === 'string') return new URLSearchParams(body).get(name) ?? undefined
  if (Buffer.isBuffer(body))
    return new URLSearchParams(body.toString('utf8')).get(name) ?? undefined
  if (typeof body === 'object' && body !== null) return (body as Record<string, unknown>)[name]
  return undefined
}
