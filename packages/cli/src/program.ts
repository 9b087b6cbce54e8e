// The `afterward` command: options and commands parsed by commander, each command in its own
// file under commands/. Returns an exit code instead of exiting, so tests and wrappers can call it.
import { Command, CommanderError } from 'commander'
import type { Afterward } from '@afterward/core'
import { EXIT, type CommandContext } from './context.js'
import { confirm, processIo, signalled, type CliIo } from './io.js'
import type { Output } from './format.js'
import { loadAfterward, redactPaths, type Source } from './load.js'
import { UsageError } from './usage-error.js'
import { jobCommand } from './commands/job.js'
import { listCommand, type ListOptions } from './commands/list.js'
import { removeCommand } from './commands/remove.js'
import { requestCommand } from './commands/request.js'
import { retryCommand, type RetryOptions } from './commands/retry.js'
import { statsCommand } from './commands/stats.js'
import { schedulesCommand } from './commands/schedules.js'
import {
  dashboardCommand,
  PASSWORD_ENV,
  type DashboardCommandOptions,
} from './commands/dashboard.js'

interface GlobalOptions {
  config?: string
  redis?: string
  postgres?: string
  prefix?: string
  schema?: string
  redact?: string
  json?: boolean
  absolute?: boolean
  color?: boolean
}

/** Options of `runCli`. */
export interface RunCliOptions {
  /**
   * The instance to work on, instead of finding one (`--config`, `--redis`, ...); the caller
   * keeps it open. For scripts and demos that already hold their app's instance.
   * @defaultValue found from the arguments, the working directory and the environment
   */
  afterward?: Afterward
}

/**
 * Runs `afterward` with `argv` (the arguments after the program name) and resolves with its
 * exit code: 0 found or done, 1 not found (or the operation failed), 2 usage error.
 *
 * @example
 * process.exitCode = await runCli(['request', 'req-42', '--json'])
 * // or, on an instance you hold, printing to a string:
 * let text = ''
 * await runCli(['request', requestId], { ...processIo(), stdout: { write: (t: string) => (text += t) } }, { afterward })
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = processIo(),
  options: RunCliOptions = {},
): Promise<number> {
  let code: number = EXIT.OK
  const instance = options.afterward
  const program = new Command('afterward')
  const run =
    <A extends unknown[]>(command: (ctx: CommandContext, ...args: A) => Promise<number>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args.at(-1) as Command
      const options = cmd.optsWithGlobals<GlobalOptions>()
      code = await withContext(io, options, instance, (ctx) =>
        command(ctx, ...(args.slice(0, -1) as A)),
      )
    }

  program
    .description(
      'Did it run? The jobs of a request, one job with its errors, lists, retries and stats.',
    )
    .option(
      '-c, --config <file>',
      'module that exports your Afterward instance (default: afterward.config.{ts,mts,js,mjs})',
    )
    .option(
      '--redis <url>',
      'read-only view of the jobs on this Redis (default: REDIS_URL without a config)',
    )
    .option(
      '--postgres <url>',
      'read-only view of the jobs in this PostgreSQL database (default: DATABASE_URL without a config)',
    )
    .option('--prefix <prefix>', "BullMQ key prefix with --redis (default: 'afterward')")
    .option('--schema <schema>', "PostgreSQL schema with --postgres (default: 'bullmq')")
    .option(
      '--redact <paths>',
      'input fields to hide, comma-separated: password,card.number,users[*].token',
    )
    .option('--json', 'print JSON for scripts')
    .option('--absolute', 'print times as ISO dates instead of "2m ago"')
    .option('--color', 'colour even when not on a terminal')
    .option('--no-color', 'no colour, even on a terminal')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
    })
    .showHelpAfterError('(afterward --help lists the commands and options)')

  program
    .command('request')
    .argument(
      '<requestId>',
      'the request id (the x-request-id header, or Fastify/Express request id)',
    )
    .description('every job a request deferred: task, state, attempts, last error, times')
    .action(run(requestCommand))
  program
    .command('job')
    .argument('<id>', 'job id')
    .description("one job: input, each attempt's error and stack, timings")
    .action(run(jobCommand))
  program
    .command('list')
    .description('jobs, newest first')
    .option(
      '--state <states>',
      'waiting, delayed, active, completed or failed; several comma-separated',
    )
    .option('--task <name>', 'only this task')
    .option('--queue <name>', 'only this queue')
    .option('--since <when>', 'created since: 30s, 15m, 1h, 7d or an ISO date')
    .option('--limit <n>', 'at most this many jobs, 1 to 1000', '50')
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .action(run((ctx, options: ListOptions) => listCommand(ctx, options)))
  program
    .command('retry')
    .argument('[id]', 'a failed job')
    .description('put failed jobs back to waiting, with all their attempts (asks first)')
    .option('--state <state>', 'every failed job (--state failed)')
    .option('--task <name>', 'with --state failed: only this task')
    .option('--queue <name>', 'with --state failed: only this queue')
    .option('-y, --yes', 'do not ask')
    .action(
      run((ctx, id: string | undefined, options: RetryOptions) => retryCommand(ctx, id, options)),
    )
  program
    .command('remove')
    .argument('<id>', 'a job that is not running')
    .description('delete a job (asks first)')
    .option('-y, --yes', 'do not ask')
    .action(run((ctx, id: string, options: { yes?: boolean }) => removeCommand(ctx, id, options)))
  program
    .command('stats')
    .description(
      'per queue, jobs in each state; per task, live jobs and those finished in the last hour',
    )
    .action(run((ctx) => statsCommand(ctx)))
  program
    .command('schedules')
    .description('the schedules in the broker: timing, next run, last run and its state')
    .action(run((ctx) => schedulesCommand(ctx)))
  program
    .command('dashboard')
    .description('serve the dashboard (@afterward/dashboard) on its own port, until Ctrl-C')
    .option('-p, --port <port>', 'port to listen on', '3001')
    .option('--host <host>', "address to listen on (default: '127.0.0.1')")
    .option('--username <name>', `basic-auth user; the password comes from ${PASSWORD_ENV}`)
    .option('--no-auth', 'no auth: anyone who can reach the port reads inputs and retries jobs')
    .action(
      run((ctx, options: DashboardCommandOptions) =>
        dashboardCommand(ctx, options, io.env, io.stopped ?? signalled()),
      ),
    )

  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true })
      return EXIT.USAGE
    }
    await program.parseAsync([...argv], { from: 'user' })
    return code
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
        ? EXIT.OK
        : EXIT.USAGE
    }
    return report(io, err)
  }
}

async function withContext(
  io: CliIo,
  options: GlobalOptions,
  given: Afterward | undefined,
  command: (ctx: CommandContext) => Promise<number>,
): Promise<number> {
  const source: Source = {
    config: options.config,
    redis: options.redis,
    postgres: options.postgres,
    prefix: options.prefix,
    schema: options.schema,
    redact: options.redact === undefined ? undefined : redactPaths(options.redact),
  }
  const loaded = given
    ? { afterward: given, readOnly: false, from: 'the given instance' }
    : await loadAfterward(source, io.cwd, io.env)
  const output: Output = {
    out: (text) => void io.stdout.write(`${text}\n`),
    err: (text) => void io.stderr.write(`${text}\n`),
    color:
      options.color ??
      (io.stdout.isTTY === true && !io.env['NO_COLOR'] && io.env['TERM'] !== 'dumb'),
    absolute: options.absolute === true,
    now: Date.now(),
  }
  const ctx: CommandContext = {
    afterward: loaded.afterward,
    readOnly: loaded.readOnly,
    output,
    json: options.json === true,
    confirm: (question) => confirm(io, question),
  }
  try {
    return await command(ctx)
  } finally {
    if (!given) await loaded.afterward.close()
  }
}

/** Prints an error the way the user can act on it; returns its exit code. */
function report(io: CliIo, err: unknown): number {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  const text = typeof message === 'string' ? message : String(err)
  if (err instanceof UsageError || code === 'AFTERWARD_OPTIONS_INVALID') {
    io.stderr.write(`error: ${text}\n(afterward --help lists the commands and options)\n`)
    return EXIT.USAGE
  }
  // Not found, or failed (a broker away, a job in the wrong state): 1 either way.
  io.stderr.write(`error: ${typeof code === 'string' ? `[${code}] ` : ''}${text}\n`)
  return EXIT.NOT_FOUND
}
