import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { dashboardFor } from './dashboard.js'
import { readText } from './node-body.js'
import type { DashboardOptions } from './options.js'

/** Options of the Fastify plugin; mount it with Fastify's own `prefix`. */
export type DashboardPluginOptions = DashboardOptions<FastifyRequest>

const plugin: FastifyPluginAsync<DashboardPluginOptions> = async (app, options) => {
  const dashboard = dashboardFor(options, '@afterward/dashboard (Fastify)')
  // Bodies are left unread until the request passed auth (so that a stranger's POST of any size
  // or type gets its 401): the dashboard reads a form through this function, after auth.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => {
    done(null, () => readText(payload))
  })
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
  app.route({ method: methods, url: '/', handler: serve })
  app.route({ method: methods, url: '/*', handler: serve })
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
