import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { register as globalRegistry } from 'prom-client'
import { checkRegistry, configError, type MetricsRegistry } from './options.js'

/** Options of `metricsPlugin` (Fastify). */
export interface MetricsPluginOptions {
  /**
   * The registry whose metrics the route answers with: `afterwardMetrics(...).registry`.
   * @defaultValue prom-client's global `register`
   */
  registry?: MetricsRegistry
  /** Path of the route, below the prefix the plugin is registered with. @defaultValue '/metrics' */
  url?: string
}

const plugin: FastifyPluginAsync<MetricsPluginOptions> = async (app, options) => {
  const registry = options.registry ?? globalRegistry
  checkRegistry(registry, 'metricsPlugin')
  const url = options.url ?? '/metrics'
  if (typeof url !== 'string' || !url.startsWith('/')) {
    throw configError('metricsPlugin', `url must be a path starting with '/', such as '/metrics'`)
  }
  app.get(url, async (_request, reply) => {
    const text = await registry.metrics()
    return reply.type(registry.contentType).send(text)
  })
}

/**
 * Fastify plugin: `GET /metrics` answers with the registry's metrics in the Prometheus text
 * format (or OpenMetrics, if the registry was made for it). The plugin is encapsulated: register
 * it with a `prefix`, or inside a plugin whose `onRequest` hook checks credentials.
 *
 * @example
 * const metrics = afterwardMetrics({ afterward, registry: new Registry() })
 * await app.register(metricsPlugin, { registry: metrics.registry })
 */
export const metricsPlugin = fp(plugin, {
  fastify: '5.x',
  name: '@afterward/prometheus',
  encapsulate: true,
})
