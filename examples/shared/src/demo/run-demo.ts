// `pnpm demo`: starts an example on embedded defaults, sends it the scripted requests, waits for
// the jobs and prints a report. Exit code 0 only if every check passed. With `--serve`, the app
// stays up afterwards for you to try.
import { rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pino } from 'pino'
import { banner, closeOnSignal, type StartApp } from '../app-runner.js'
import { createServices } from '../services.js'
import { loadSettings } from '../settings.js'
import { Report } from './report.js'
import { runScenario } from './scenario.js'
import { requestInCli } from './cli.js'

/**
 * Runs the demo; resolves with the exit code (or never, with `--serve`).
 *
 * @example
 * process.exitCode = await runDemo('Fastify', startApp, process.argv.slice(2))
 */
export async function runDemo(
  framework: string,
  startApp: StartApp,
  args: readonly string[],
): Promise<number> {
  const started = performance.now()
  const keepServing = args.includes('--serve')
  // Embedded defaults unless asked: a REDIS_URL left in the shell must not change the demo.
  const env = args.includes('--use-env') ? process.env : {}
  const dataDir = join(process.cwd(), '.demo', 'demo')
  rmSync(dataDir, { recursive: true, force: true })
  const settings = loadSettings(env, {
    dataDir,
    // The daily digest every second, so that the demo shows a run without waiting for 07:00.
    digestEvery: 1_000,
    port: keepServing ? Number(process.env['PORT'] ?? 3000) : 0,
  })
  const logFile = join(dataDir, 'app.log')
  // debug: the per-job lines (enqueue, start, completion) are debug lines.
  const logger = pino(
    { level: 'debug' },
    pino.destination({ dest: logFile, mkdir: true, sync: true }),
  )

  console.log(
    `Afterward demo: the ${framework} example on ${env === process.env ? 'the services in your environment' : 'embedded defaults'}`,
  )
  const services = await createServices(settings, logger)
  await services.startWorker()
  const app = await startApp(services, { port: settings.port, logger })
  console.log(
    services
      .describe()
      .map((line) => `  ${line}`)
      .join('\n'),
  )

  const report = new Report()
  let shown: string | undefined
  try {
    shown = await runScenario(
      app.url,
      services,
      report,
      env === process.env ? `-${Date.now().toString(36)}` : '',
    )
  } catch (err) {
    report.check(false, `the demo stopped: ${err instanceof Error ? err.stack : String(err)}`)
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  const where = (path: string | undefined) =>
    path === undefined ? '' : relative(process.cwd(), path) || '.'
  console.log(report.toString())
  if (shown !== undefined) {
    console.log(`\n${await requestInCli(services.afterward, shown, settings.redisUrl)}`)
    const { username, password } = settings.dashboard
    console.log(
      [
        `\nThe order's jobs, in the dashboard${keepServing ? '' : ' (served while the app runs: pnpm dev keeps it up)'}:`,
        `  ${app.url}/afterward/requests/${encodeURIComponent(shown)}  (user ${username}, password ${password})`,
      ].join('\n'),
    )
  }
  console.log('')
  if (services.mailer.mailbox !== undefined)
    console.log(`Emails: ${where(services.mailer.mailbox)}/*.eml (open them with any mail client)`)
  console.log(
    `Logs:   ${where(logFile)} (every enqueue, attempt, retry and completion, with job and request ids)`,
  )
  console.log(
    report.failed === 0
      ? `All ${report.passed} checks passed in ${seconds} s.`
      : `${report.failed} of ${report.passed + report.failed} checks FAILED (${seconds} s).`,
  )

  if (keepServing) {
    console.log(`\n${banner(framework, app.url, services)}\n`)
    console.log(`Watch the jobs run: tail -f ${where(logFile)}\nCtrl-C to stop.`)
    closeOnSignal(async () => {
      await app.close()
      await services.close()
    })
    return new Promise<number>(() => undefined)
  }
  await app.close()
  await services.close()
  return report.failed === 0 ? 0 : 1
}
