import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { dashboardFor } from './dashboard.js'
import { FORM_LIMIT } from './node-body.js'
import type { DashboardOptions } from './options.js'

/** Options of the Fastify plugin; mount it with Fastify's own `prefix`. */
export type DashboardPluginOptions = DashboardOptions<FastifyRequest>

const FORM = 'application/x-www-form-urlencoded'

const plugin: FastifyPluginAsync<DashboardPluginOptions> = async (app, options) => {
  const dashboard = dashboardFor(options, '@afterward/dashboard (Fastify)')
  // Retry and Remove post urlencoded forms; keep them as text for the dashboard to read. Any
  // other body is read as text too, so that an unauthenticated request of any content type
  // still gets its 401 rather than a 415.
  for (const type of [FORM, '*']) {
    if (!app.hasContentTypeParser(type)) {
      app.addContentTypeParser(type, { parseAs: 'string' }, (_request, body, done) => {
        done(null, body)
      })
    }
  }
  const base = app.prefix
  async function serve(request: FastifyRequest, reply: FastifyReply) {
    const below = request.url.slice(base.length)
    const res = await dashboard.handle({
      method: request.method,
      base,
      url: below.startsWith('/') ? below : `/${below}`,
      headers: request.headers,
      body: request.body,
      raw: request,
    })
    return reply.code(res.status).headers(res.headers).send(res.body)
  }
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
  app.route({ method: methods, url: '/', bodyLimit: FORM_LIMIT, handler: serve })
  app.route({ method: methods, url: '/*', bodyLimit: FORM_LIMIT, handler: serve })
}

/**
 * The dashboard as a Fastify plugin, served below its `prefix`. Its routes live in their own
 * encapsulated context (nothing is added to the app). Refuses to register without `auth`.
 *
 * @example
 * await app.register(dashboardPlugin, {
 *   afterward,
 *   prefix: '/afterward',
 *   auth: (request) => request.session?.user?.isAdmin === true,
 * })
 */
export const dashboardPlugin = fp(plugin, {
  fastify: '5.x',
  name: '@afterward/dashboard',
  encapsulate: true,
})
