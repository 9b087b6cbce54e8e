import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AfterwardError, ErrorCode } from '@afterward/core'
import { dashboardFor } from './dashboard.js'
import { readText } from './node-body.js'
import type { DashboardOptions } from './options.js'

/** Options of `startDashboard`. */
export interface StartDashboardOptions extends DashboardOptions<IncomingMessage> {
  /** Port to listen on; 0 picks a free one. */
  port: number
  /**
   * Address to listen on. Pass `'0.0.0.0'` (or `'::'`) to be reachable from other machines,
   * e.g. in a container. @defaultValue '127.0.0.1'
   */
  host?: string
}

/** A dashboard server started by `startDashboard`. */
export interface RunningDashboard {
  /** Its address, e.g. `http://127.0.0.1:3001`. */
  url: string
  port: number
  /** Stops listening; the Afterward instance stays open (close it yourself). */
  close(): Promise<void>
}

/**
 * Serves the dashboard on its own HTTP server, for deployments with workers and no web app
 * (`afterward dashboard --port 3001` runs it). Refuses to start without `auth`.
 *
 * @example
 * const dashboard = await startDashboard({ afterward, port: 3001, auth: { username: 'ops', password } })
 * console.log(`dashboard on ${dashboard.url}`)
 */
export async function startDashboard(options: StartDashboardOptions): Promise<RunningDashboard> {
  const dashboard = dashboardFor(options, 'startDashboard')
  const { port: wanted, host = '127.0.0.1' } = options
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65_535) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `startDashboard: \`port\` must be an integer from 0 to 65535 (0 picks a free port), not ${String(wanted)}.`,
    )
  }
  const server = createServer((req, res) => {
    dashboard
      .handle({
        method: req.method ?? 'GET',
        base: '',
        url: req.url ?? '/',
        headers: req.headers,
        body: () => readText(req),
        raw: req,
      })
      .then(
        (answer) => {
          res.writeHead(answer.status, answer.headers)
          res.end(answer.body)
        },
        (err: unknown) => {
          options.afterward.log.error({ err }, 'dashboard request failed')
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          res.end('The dashboard failed; the server log has the error.')
        },
      )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EADDRINUSE'
          ? 'something else listens there; pass another port, or 0 for a free one'
          : 'check the host and the port'
      reject(
        new AfterwardError(
          ErrorCode.CONFIG_INVALID,
          `startDashboard: cannot listen on ${host}:${wanted} (${err.code ?? err.message}): ${hint}.`,
          { cause: err },
        ),
      )
    })
    server.listen(wanted, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      }),
  }
}
