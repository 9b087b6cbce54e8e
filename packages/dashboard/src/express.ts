import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Request } from 'express'
import { dashboardFor } from './dashboard.js'
import { readText } from './node-body.js'
import type { DashboardOptions } from './options.js'

/** Options of the Express middleware; mount it with `app.use(path, …)`. */
export type DashboardMiddlewareOptions = DashboardOptions<Request>

/** An Express 4 or 5 middleware. */
export type DashboardMiddleware = (
  req: Request,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void

/**
 * The dashboard as Express middleware, served below the path it is mounted at. It answers
 * every request that reaches it; a body that `express.urlencoded()` already parsed is used as
 * is. Refuses to start without `auth`.
 *
 * @example
 * app.use('/afterward', dashboardMiddleware({ afterward, auth: { username: 'ops', password } }))
 */
export function dashboardMiddleware(options: DashboardMiddlewareOptions): DashboardMiddleware {
  const dashboard = dashboardFor(options, '@afterward/dashboard (Express)')
  return function afterwardDashboard(req, res, next) {
    const parsed: unknown = req.body
    dashboard
      .handle({
        method: req.method,
        base: req.baseUrl,
        url: req.url,
        headers: req.headers,
        body: parsed === undefined ? () => readText(req as IncomingMessage) : parsed,
        raw: req,
      })
      .then((answer) => {
        res.writeHead(answer.status, answer.headers)
        res.end(answer.body)
      }, next)
  }
}
