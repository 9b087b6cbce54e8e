// What each example provides (`startApp`) and how it is run as a server (`serve`) or as a
// separate worker (`runWorker`), so that both examples share their entry points.
import type { Logger } from 'pino'
import { pino } from 'pino'
import { createServices, type Services, type TracingSetup } from './services.js'
import { SetupError } from './setup-error.js'
import type { Settings } from './settings.js'

/** A listening app. */
export interface RunningApp {
  /** Base URL, e.g. http://127.0.0.1:3000 */
  url: string
  close(): Promise<void>
}

/** Starts an example's HTTP app on `services`, listening on `port` (0: any free port). */
export type StartApp = (
  services: Services,
  options: { port: number; logger: Logger },
) => Promise<RunningApp>

/**
 * `pnpm start`: the app, with the worker in the process unless `WORKER=separate`.
 *
 * @example
 * await serve('Fastify', startApp, loadSettings())
 */
export async function serve(
  framework: string,
  startApp: StartApp,
  settings: Settings,
  tracing?: TracingSetup,
): Promise<void> {
  const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'info' })
  if (!settings.inProcessWorker && settings.redisUrl === undefined) {
    throw new SetupError(
      'WORKER=separate needs REDIS_URL: the memory() driver only serves workers in its own process.',
    )
  }
  const services = await createServices(settings, logger, tracing && { tracing })
  if (settings.inProcessWorker) await services.startWorker()
  const app = await startApp(services, { port: settings.port, logger })
  console.log(banner(framework, app.url, services))
  closeOnSignal(async () => {
    await app.close()
    await services.close()
  })
}

/**
 * `pnpm worker`: a worker process for the jobs the app stores in Redis.
 *
 * @example
 * await runWorker(loadSettings())
 */
export async function runWorker(settings: Settings, tracing?: TracingSetup): Promise<void> {
  if (settings.redisUrl === undefined) {
    throw new SetupError(
      'The worker script needs REDIS_URL: without it the app uses the memory() driver, whose worker runs in the app process.',
    )
  }
  const services = await createServices(
    settings,
    pino({ level: process.env['LOG_LEVEL'] ?? 'info' }),
    tracing && { tracing },
  )
  await services.startWorker()
  console.log(`Afterward worker running (Ctrl-C to stop)\n  ${services.describe().join('\n  ')}`)
  closeOnSignal(() => services.close())
}

/** Start-up text: the services in use and requests to try. */
export function banner(framework: string, url: string, services: Services): string {
  return [
    `Afterward ${framework} example listening on ${url}`,
    ...services.describe().map((line) => `  ${line}`),
    '',
    'Try:',
    `  curl -i -X POST ${url}/signup -H 'content-type: application/json' -d '{"email":"linus@example.com","name":"Linus"}'`,
    `  curl -i -X POST ${url}/orders -H 'content-type: application/json' -d '{"key":"order-2001","email":"linus@example.com","item":"mug","quantity":1}'`,
    `  curl -i -X POST ${url}/orders/order-2001/refund`,
    `  curl ${url}/requests/<x-request-id of a response>/jobs`,
    `  curl ${url}/jobs/<jobId>`,
    '',
    `Dashboard: ${url}/afterward/ (user ${services.settings.dashboard.username}, password ${services.settings.dashboard.password})`,
  ].join('\n')
}

/** Runs `close` once on SIGINT or SIGTERM, then exits. */
export function closeOnSignal(close: () => Promise<void>): void {
  let closing = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return
    closing = true
    console.log(`\n${signal}: finishing running jobs and closing...`)
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
}
