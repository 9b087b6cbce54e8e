// Serving /metrics: the Fastify plugin and the Express handler, their options and their errors.
import { once } from 'node:events'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { Counter, Gauge, Registry, type RegistryContentType } from 'prom-client'
import { onTestFinished, describe, expect, it } from 'vitest'
import { AfterwardError } from '@afterward/core'
import { metricsHandler, metricsPlugin, type MetricsRegistry } from '@afterward/prometheus'
import { thrown } from '../../../test/support/afterward.js'
import { scraped } from './scrape.js'

/** A registry holding one counter at 3, as an app's own metrics would. */
function registryWithCounter(openMetrics = false): MetricsRegistry {
  const registry = new Registry<RegistryContentType>()
  if (openMetrics) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  new Counter({ name: 'app_signups_total', help: 'Signups.', registers: [registry] }).inc(3)
  return registry
}

/** A registry whose collector fails, as one reading an unreachable source might. */
function failingRegistry(): Registry {
  const registry = new Registry()
  new Gauge({
    name: 'app_unreachable',
    help: 'Fails.',
    registers: [registry],
    collect() {
      throw new Error('source unreachable')
    },
  })
  return registry
}

async function fastify(
  setup: (app: FastifyInstance) => PromiseLike<unknown>,
): Promise<FastifyInstance> {
  const app = Fastify()
  onTestFinished(() => app.close())
  await setup(app)
  return app
}

async function listen(handler: RequestListener): Promise<string> {
  const server = createServer(handler).listen(0, '127.0.0.1')
  await once(server, 'listening')
  onTestFinished(
    () => new Promise<void>((resolve) => server.close(() => resolve())) as Promise<void>,
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('metricsPlugin (Fastify)', () => {
  it('answers GET /metrics with the registry’s text and content type', async () => {
    const registry = registryWithCounter()
    const app = await fastify((a) => a.register(metricsPlugin, { registry }))
    const response = await app.inject('/metrics')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe(registry.contentType)
    expect(scraped(response.body).value('app_signups_total')).toBe(3)
  })

  it('answers in OpenMetrics when the registry was made for it', async () => {
    const registry = registryWithCounter(true)
    const app = await fastify((a) => a.register(metricsPlugin, { registry }))
    const response = await app.inject('/metrics')
    expect(response.headers['content-type']).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    )
    expect(response.body).toMatch(/^app_signups_total 3$/m)
    expect(response.body.endsWith('# EOF\n')).toBe(true)
  })

  it('takes a url and a prefix, and stays inside the plugin it is registered in', async () => {
    const registry = registryWithCounter()
    const app = await fastify(async (a) => {
      await a.register(
        async (internal) => {
          // Encapsulated: this hook guards the metrics route and nothing else.
          internal.addHook('onRequest', async (request, reply) => {
            if (request.headers.authorization !== 'Bearer scraper') {
              await reply.code(401).send({ error: 'unauthorized' })
            }
          })
          await internal.register(metricsPlugin, { registry, url: '/prom' })
        },
        { prefix: '/internal' },
      )
      a.get('/health', async () => ({ ok: true }))
    })
    expect((await app.inject('/metrics')).statusCode).toBe(404)
    expect((await app.inject('/internal/prom')).statusCode).toBe(401)
    const ok = await app.inject({
      url: '/internal/prom',
      headers: { authorization: 'Bearer scraper' },
    })
    expect(ok.statusCode).toBe(200)
    expect(scraped(ok.body).value('app_signups_total')).toBe(3)
    expect((await app.inject('/health')).statusCode).toBe(200)
  })

  it('serves two registries on two urls of one app', async () => {
    const first = registryWithCounter()
    const second = new Registry()
    new Counter({ name: 'other_total', help: 'Other.', registers: [second] }).inc()
    const app = await fastify(async (a) => {
      await a.register(metricsPlugin, { registry: first })
      await a.register(metricsPlugin, { registry: second, url: '/metrics/other' })
    })
    expect((await app.inject('/metrics')).body).not.toContain('other_total')
    expect(scraped((await app.inject('/metrics/other')).body).value('other_total')).toBe(1)
  })

  it('answers 500 through Fastify’s error handler when a collector fails', async () => {
    const app = await fastify((a) => a.register(metricsPlugin, { registry: failingRegistry() }))
    const response = await app.inject('/metrics')
    expect(response.statusCode).toBe(500)
    expect(response.json()).toMatchObject({ message: 'source unreachable' })
  })

  it('refuses a registry that is not one, and a url that is not a path', async () => {
    for (const [options, message] of [
      [{ registry: {} as Registry }, /^metricsPlugin: registry must be a prom-client Registry/],
      [{ url: 'metrics' }, /^metricsPlugin: url must be a path starting with '\/'/],
    ] as const) {
      const app = Fastify()
      const error = await app.register(metricsPlugin, options).then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(error).toBeInstanceOf(AfterwardError)
      expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
      expect((error as Error).message).toMatch(message)
      await app.close().catch(() => undefined)
    }
  })
})

describe('metricsHandler (Express)', () => {
  it('answers with the registry’s text and content type', async () => {
    const registry = registryWithCounter()
    const app = express()
    app.get('/metrics', metricsHandler({ registry }))
    const url = await listen(app)
    const response = await fetch(`${url}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe(registry.contentType)
    expect(scraped(await response.text()).value('app_signups_total')).toBe(3)
  })

  it('answers in OpenMetrics when the registry was made for it', async () => {
    const registry = registryWithCounter(true)
    const app = express()
    app.get('/metrics', metricsHandler({ registry }))
    const response = await fetch(`${await listen(app)}/metrics`)
    expect(response.headers.get('content-type')).toBe(Registry.OPENMETRICS_CONTENT_TYPE)
    expect((await response.text()).endsWith('# EOF\n')).toBe(true)
  })

  it('hands a failing collector’s error to the app’s error handler', async () => {
    const app = express()
    app.get('/metrics', metricsHandler({ registry: failingRegistry() }))
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(503).json({ error: err.message })
    })
    const response = await fetch(`${await listen(app)}/metrics`)
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ error: 'source unreachable' })
  })

  it('serves a plain Node.js server too, with a 500 when a collector fails', async () => {
    const good = metricsHandler({ registry: registryWithCounter() })
    const bad = metricsHandler({ registry: failingRegistry() })
    const url = await listen((req, res) => (req.url === '/bad' ? bad(req, res) : good(req, res)))
    const response = await fetch(`${url}/metrics`)
    expect(response.status).toBe(200)
    expect(scraped(await response.text()).value('app_signups_total')).toBe(3)
    expect((await fetch(`${url}/bad`)).status).toBe(500)
  })

  it('refuses a registry that is not one', () => {
    const error = thrown(() => metricsHandler({ registry: { metrics: 'no' } as never }))
    expect(error).toBeInstanceOf(AfterwardError)
    expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
    expect((error as Error).message).toMatch(
      /^metricsHandler: registry must be a prom-client Registry \(new Registry\(\), or prom-client's register\)\.$/,
    )
  })
})
