import type { IncomingMessage, ServerResponse } from 'node:http'
import { register as globalRegistry } from 'prom-client'
import { checkRegistry, type MetricsRegistry } from './options.js'

/** Options of `metricsHandler` (Express, or any Node.js `(req, res)` server). */
export interface MetricsHandlerOptions {
  /**
   * The registry whose metrics the handler answers with: `afterwardMetrics(...).registry`.
   * @defaultValue prom-client's global `register`
   */
  registry?: MetricsRegistry
}

/** A request handler that Express (4 and 5) and Node.js's `http` module both accept. */
export type MetricsHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => void

/**
 * Express handler (also a plain Node.js `(req, res)` handler): answers with the registry's
 * metrics in the Prometheus text format. A failing collector goes to `next(err)` (a 500 without
 * one).
 *
 * @example
 * const metrics = afterwardMetrics({ afterward, registry: new Registry() })
 * app.get('/metrics', metricsHandler({ registry: metrics.registry }))
 */
export function metricsHandler(options: MetricsHandlerOptions = {}): MetricsHandler {
  const registry = options.registry ?? globalRegistry
  checkRegistry(registry, 'metricsHandler')
  return function afterwardMetricsHandler(_req, res, next) {
    registry.metrics().then(
      (text) => {
        res.statusCode = 200
        res.setHeader('content-type', registry.contentType)
        res.end(text)
      },
      (err: unknown) => {
        if (next) return next(err)
        res.statusCode = 500
        res.end()
      },
    )
  }
}
