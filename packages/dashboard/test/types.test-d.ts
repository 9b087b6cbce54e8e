import type { IncomingMessage } from 'node:http'
import express, { type Request } from 'express'
import Fastify, { type FastifyRequest } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import type { Afterward } from '@afterward/core'
import dashboardPluginDefault, {
  createDashboard,
  dashboardMiddleware,
  dashboardPlugin,
  startDashboard,
  type DashboardResponse,
  type RunningDashboard,
} from '@afterward/dashboard'

declare const afterward: Afterward

describe('@afterward/dashboard types', () => {
  it('gives the auth function the framework request, and requires auth', () => {
    const app = Fastify()
    expectTypeOf(dashboardPluginDefault).toEqualTypeOf(dashboardPlugin)
    void app.register(dashboardPlugin, {
      afterward,
      prefix: '/afterward',
      auth: (request) => {
        expectTypeOf(request).toEqualTypeOf<FastifyRequest>()
        return request.headers['x-admin'] === 'yes'
      },
    })
    void app.register(dashboardPlugin, { afterward, auth: { username: 'ops', password: 'x' } })
    // @ts-expect-error `auth` is required (pass false to serve without)
    void app.register(dashboardPlugin, { afterward })

    express().use(
      '/afterward',
      dashboardMiddleware({
        afterward,
        auth: async (req) => {
          expectTypeOf(req).toEqualTypeOf<Request>()
          return true
        },
        redact: ['password', 'card.number'],
      }),
    )
    // @ts-expect-error `auth` is required
    dashboardMiddleware({ afterward })
    // @ts-expect-error credentials need a password
    dashboardMiddleware({ afterward, auth: { username: 'ops' } })
  })

  it('starts a standalone server with the signature the CLI uses', () => {
    const running = startDashboard({
      afterward,
      port: 3001,
      host: '0.0.0.0',
      auth: (req) => {
        expectTypeOf(req).toEqualTypeOf<IncomingMessage>()
        return false
      },
    })
    expectTypeOf(running).toEqualTypeOf<Promise<RunningDashboard>>()
    expectTypeOf<RunningDashboard['url']>().toBeString()
    // @ts-expect-error `port` is required
    void startDashboard({ afterward, auth: false })
  })

  it('hands a framework-free handler a request and returns a response', () => {
    const dashboard = createDashboard({ afterward, auth: false })
    expectTypeOf(dashboard.handle).returns.toEqualTypeOf<Promise<DashboardResponse>>()
  })
})
