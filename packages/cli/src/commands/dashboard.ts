import { EXIT, type CommandContext } from '../context.js'
import { UsageError } from '../usage-error.js'

export interface DashboardCommandOptions {
  port: string
  host?: string
  username?: string
  auth?: boolean
}

/** What the command uses of `@afterward/dashboard` (an optional peer, loaded on demand). */
interface DashboardModule {
  startDashboard(options: {
    afterward: CommandContext['afterward']
    port: number
    host?: string
    auth: { username: string; password: string } | false
  }): Promise<{ url: string; close(): Promise<void> }>
}

/** The environment variable the dashboard's basic-auth password is read from (not argv: `ps` shows argv). */
export const PASSWORD_ENV = 'AFTERWARD_DASHBOARD_PASSWORD'

/**
 * `afterward dashboard --port 3001`: the dashboard on its own server, for deployments with
 * workers and no web app. Runs until SIGINT or SIGTERM.
 */
export async function dashboardCommand(
  ctx: CommandContext,
  options: DashboardCommandOptions,
  env: NodeJS.ProcessEnv,
  stopped: Promise<unknown>,
): Promise<number> {
  const port = Number(options.port)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port ${options.port}: give a port number from 0 to 65535.`)
  }
  const password = env[PASSWORD_ENV]
  let auth: { username: string; password: string } | false
  if (options.auth === false) auth = false
  else if (options.username !== undefined && password)
    auth = { username: options.username, password }
  else {
    throw new UsageError(
      `The dashboard needs auth: pass --username <name> and set ${PASSWORD_ENV} (basic auth), or pass --no-auth to let anyone who can reach it read job inputs.`,
    )
  }
  const specifier = '@afterward/dashboard' // a variable: the package is an optional peer
  const dashboard = (await import(specifier).catch((err: unknown) => {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err
    throw new UsageError(
      'afterward dashboard needs @afterward/dashboard next to @afterward/cli: pnpm add @afterward/dashboard',
    )
  })) as DashboardModule
  const running = await dashboard.startDashboard({
    afterward: ctx.afterward,
    port,
    ...(options.host === undefined ? {} : { host: options.host }),
    auth,
  })
  ctx.output.out(`Dashboard on ${running.url} (Ctrl-C stops it)`)
  await stopped
  await running.close()
  return EXIT.OK
}
