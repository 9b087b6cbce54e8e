// The ways to serve the dashboard, each on a real server on an ephemeral port: the Fastify
// plugin under /afterward, the Express middleware under /afterward (Express 5 and 4), and
// startDashboard.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import {
  dashboardMiddleware,
  dashboardPlugin,
  startDashboard,
  type DashboardOptions,
} from '@afterward/dashboard'

export interface Served {
  /** The dashboard's root URL without a trailing slash, e.g. http://127.0.0.1:4321/afterward */
  url: string
  close(): Promise<void>
}

export interface Host {
  name: string
  serve(options: DashboardOptions<any>): Promise<Served>
}

export const fastifyHost: Host = {
  name: 'Fastify',
  async serve(options) {
    const app = Fastify()
    await app.register(dashboardPlugin, { ...options, prefix: '/afterward' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    return { url: `http://127.0.0.1:${port}/afterward`, close: () => app.close() }
  },
}

/** The Express middleware under /afterward, on Express 5 or, with `express4`, Express 4. */
function expressHost(name: string, makeApp: typeof express): Host {
  return {
    name,
    async serve(options) {
      const app = makeApp()
      app.use('/afterward', dashboardMiddleware(options))
      const server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s))
      })
      const { port } = server.address() as AddressInfo
      return {
        url: `http://127.0.0.1:${port}/afterward`,
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve())
            server.closeAllConnections()
          }),
      }
    },
  }
}

export const standaloneHost: Host = {
  name: 'startDashboard',
  async serve(options) {
    const running = await startDashboard({ ...options, port: 0 })
    return { url: running.url, close: running.close }
  },
}

export const hosts: Host[] = [
  fastifyHost,
  expressHost('Express 5', express),
  expressHost('Express 4', express4),
  standaloneHost,
]

/** `Authorization` header for basic auth. */
export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}
