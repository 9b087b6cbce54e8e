// The dashboard, framework-free: one function from a request to a response. The Fastify,
// Express and standalone entries only translate their request into a `DashboardRequest` and
// write the `DashboardResponse` back.
import { AfterwardError, ErrorCode } from '@afterward/core'
import { postRoutes } from './actions.js'
import { loadAssets } from './assets.js'
import { compileAuth } from './auth.js'
import { issueToken, verifyToken } from './csrf.js'
import { resolveOptions, type DashboardOptions } from './options.js'
import { json, page, respond, type DashboardResponse } from './response.js'
import { formField, header, matchRoute, readBody, type DashboardRequest } from './request.js'
import { getRoutes, type RouteContext } from './routes.js'
import { messagePage, unauthorizedPage } from './views/message-page.js'

/** The dashboard's request handler. */
export interface Dashboard<Req = unknown> {
  handle(request: DashboardRequest<Req>): Promise<DashboardResponse>
}

/**
 * The dashboard as one request handler, for serving it from a framework that has no entry of
 * its own. `@afterward/dashboard`'s Fastify plugin, Express middleware and `startDashboard`
 * are built on it. Throws `AFTERWARD_CONFIG_INVALID` without `auth`.
 *
 * @example
 * const dashboard = createDashboard({ afterward, auth: { username: 'ops', password } })
 * const res = await dashboard.handle({ method: 'GET', base: '', url: '/', headers, body: undefined, raw: req })
 */
export function createDashboard<Req = unknown>(options: DashboardOptions<Req>): Dashboard<Req> {
  return dashboardFor(options, '@afterward/dashboard')
}

/** `createDashboard`, with `where` naming the entry point in error messages and warnings. */
export function dashboardFor<Req>(options: DashboardOptions<Req>, where: string): Dashboard<Req> {
  const { afterward, auth, redact, pageSize, title } = resolveOptions(options, where)
  const authorize = compileAuth(auth, afterward.log)
  const assets = loadAssets()

  async function handle(request: DashboardRequest<Req>): Promise<DashboardResponse> {
    const api = request.url.startsWith('/api/')
    const authorization = header(request.headers, 'authorization')
    const allowed = await authorize(request.raw, authorization)
    if (!allowed.ok) {
      const challenge: Record<string, string> = allowed.challenge
        ? { 'www-authenticate': allowed.challenge }
        : {}
      return api
        ? json(401, { code: 'AFTERWARD_UNAUTHORIZED', message: 'Authenticate first.' }, challenge)
        : page(401, unauthorizedPage(allowed.challenge !== undefined), challenge)
    }

    const url = new URL(request.url, 'http://dashboard.invalid')
    const method = request.method === 'HEAD' ? 'GET' : request.method
    const asset = method === 'GET' ? assets.get(url.pathname) : undefined
    if (asset) return respond(200, asset.type, asset.body)

    const cookies = header(request.headers, 'cookie')
    const csrf = issueToken(cookies, request.base)
    const view = { base: request.base, title, csrfToken: csrf.token }
    const withCookie = (res: DashboardResponse) =>
      csrf.setCookie ? { ...res, headers: { ...res.headers, 'set-cookie': csrf.setCookie } } : res
    const routes = method === 'GET' ? getRoutes : method === 'POST' ? postRoutes : undefined
    if (routes === undefined)
      return respond(405, 'text/plain; charset=utf-8', 'Method not allowed', {
        allow: 'GET, HEAD, POST',
      })
    const match = matchRoute(routes, url.pathname)
    if (match === undefined) {
      const message = `There is no dashboard page at ${url.pathname}.`
      return withCookie(
        api
          ? json(404, { code: 'AFTERWARD_NOT_FOUND', message })
          : page(404, messagePage(view, 'Page not found', message)),
      )
    }
    if (method === 'POST' && !verifyToken(cookies, formField(await readBody(request), '_csrf'))) {
      const message =
        'This form’s security token is missing or does not match this browser (the page may be old or come from another site). Reload the page and try again.'
      return withCookie(page(403, messagePage(view, 'Refused', message)))
    }

    const ctx: RouteContext = {
      view,
      params: match.params,
      query: url.searchParams,
      afterward,
      redact,
      pageSize,
    }
    try {
      return withCookie(await match.route(ctx))
    } catch (err) {
      const [status, code, message] = describeFailure(err)
      if (status === 500) afterward.log.error({ err, url: request.url }, 'dashboard page failed')
      return withCookie(
        api ? json(status, { code, message }) : page(status, messagePage(view, 'Error', message)),
      )
    }
  }

  return { handle }
}

function describeFailure(err: unknown): [number, string, string] {
  if (err instanceof AfterwardError) {
    if (err.code === ErrorCode.OPTIONS_INVALID) return [400, err.code, err.message]
    if (err.code === ErrorCode.BROKER_UNAVAILABLE) return [503, err.code, err.message]
  }
  return [
    500,
    'AFTERWARD_DASHBOARD_FAILED',
    'The dashboard failed to read the jobs; the server log has the error.',
  ]
}
