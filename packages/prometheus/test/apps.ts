// The same app on Fastify (through inject) and Express (over HTTP on an ephemeral port): a few
// deferring routes and /metrics served by this package.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import type { Registry } from 'prom-client'
import type { Afterward, DeferFn } from '@afterward/core'
import { afterwardMiddleware } from '@afterward/express'
import afterwardPlugin from '@afterward/fastify'
import { metricsHandler, metricsPlugin } from '@afterward/prometheus'

/** A route's handler: defers what it likes, then answers with this status and body. */
export type Route = (defer: DeferFn) => { status: number; body: unknown }

export interface Response {
  status: number
  contentType: string | undefined
  body: string
}

export interface App {
  post(path: string): Promise<Response>
  get(path: string): Promise<Response>
  close(): Promise<void>
}

export interface Framework {
  name: string
  serve(afterward: Afterward, registry: Registry, routes: Record<string, Route>): Promise<App>
}

export const fastify: Framework = {
  name: 'fastify',
  async serve(afterward, registry, routes) {
    const app = Fastify()
    await app.register(afterwardPlugin, { afterward })
    await app.register(metricsPlugin, { registry })
    for (const [path, route] of Object.entries(routes)) {
      app.post(path, async (_request, reply) => {
        const { status, body } = route((task, ...args) => reply.defer(task, ...args))
        return reply.code(status).send(body)
      })
    }
    const call = async (method: 'GET' | 'POST', url: string): Promise<Response> => {
      const response = await app.inject({ method, url })
      const type = response.headers['content-type']
      return { status: response.statusCode, contentType: type?.toString(), body: response.body }
    }
    return {
      post: (path) => call('POST', path),
      get: (path) => call('GET', path),
      close: () => app.close(),
    }
  },
}

export const expressFramework: Framework = {
  name: 'express',
  async serve(afterward, registry, routes) {
    const app = express()
    app.use(afterwardMiddleware({ afterward }))
    app.get('/metrics', metricsHandler({ registry }))
    for (const [path, route] of Object.entries(routes)) {
      app.post(path, (_req, res) => {
        const { status, body } = route((task, ...args) => res.defer(task, ...args))
        res.status(status).json(body)
      })
    }
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    server.keepAliveTimeout = 100
    const { port } = server.address() as AddressInfo
    const call = async (method: 'GET' | 'POST', path: string): Promise<Response> => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { method })
      return {
        status: response.status,
        contentType: response.headers.get('content-type') ?? undefined,
        body: await response.text(),
      }
    }
    return {
      post: (path) => call('POST', path),
      get: (path) => call('GET', path),
      async close() {
        const closed = new Promise<void>((resolve, reject) =>
          server.close((err) => (err ? reject(err) : resolve())),
        )
        server.closeIdleConnections()
        await closed
      },
    }
  },
}

export const frameworks = [fastify, expressFramework]
