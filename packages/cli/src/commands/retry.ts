import type { JobInfo } from '@afterward/core'
import { EXIT, jobNotFound, type CommandContext } from '../context.js'
import { lastError, paint, table } from '../format.js'
import { UsageError } from '../usage-error.js'
import { collect } from './list.js'
import { refuseReadOnly } from './write-guard.js'

export interface RetryOptions {
  state?: string
  task?: string
  queue?: string
  yes?: boolean
}

/** Failed jobs read per `retry --state failed`, at most. */
const MAX_BULK = 10_000

/** `afterward retry <id>` or `afterward retry --state failed [--task X] [--queue Q]`. */
export async function retryCommand(
  ctx: CommandContext,
  id: string | undefined,
  options: RetryOptions,
): Promise<number> {
  if (id !== undefined && (options.state ?? options.task ?? options.queue) !== undefined) {
    throw new UsageError('Give a job id or --state failed [--task X] [--queue Q], not both.')
  }
  if (id === undefined && options.state === undefined) {
    throw new UsageError('Give the id of a failed job, or --state failed [--task X] [--queue Q].')
  }
  if (options.state !== undefined && options.state !== 'failed') {
    throw new UsageError(
      `--state ${options.state}: only failed jobs can be retried (--state failed).`,
    )
  }
  refuseReadOnly(ctx, 'retry')
  const { output, afterward } = ctx
  let jobs: JobInfo[]
  if (id !== undefined) {
    const job = await afterward.jobs.get(id)
    if (!job) return jobNotFound(ctx, id)
    if (job.state !== 'failed') {
      output.err(`Job '${id}' is ${job.state}; only a failed job can be retried.`)
      return EXIT.NOT_FOUND
    }
    jobs = [job]
  } else {
    const query = {
      state: 'failed' as const,
      ...(options.task === undefined ? {} : { task: options.task }),
      ...(options.queue === undefined ? {} : { queue: options.queue }),
    }
    const found = await collect(ctx, query, MAX_BULK, undefined)
    jobs = found.jobs
    if (found.next !== undefined && !ctx.json) {
      output.err(
        `More than ${MAX_BULK} failed jobs match: these are the newest; run it again for the rest.`,
      )
    }
    if (jobs.length === 0) {
      if (ctx.json) output.out(JSON.stringify({ retried: [], errors: [] }, null, 2))
      else output.err('No failed jobs match.')
      return EXIT.NOT_FOUND
    }
  }
  if (!options.yes) {
    if (!ctx.json) {
      output.err(
        table(
          output,
          ['JOB', 'TASK', 'STATE', 'LAST ERROR'],
          jobs.map((j) => [j.id, j.task, j.state, lastError(j)]),
        ),
      )
    }
    const what = jobs.length === 1 ? 'this job' : `these ${jobs.length} failed jobs`
    if (!(await ctx.confirm(`Retry ${what}?`))) {
      output.err('Nothing retried.')
      return EXIT.OK
    }
  }
  const retried: JobInfo[] = []
  const errors: { id: string; code: string | undefined; message: string }[] = []
  for (const job of jobs) {
    try {
      retried.push(await afterward.jobs.retry(job.id))
      if (!ctx.json) output.out(`${paint(output, 'green', 'retried')}  ${job.id}  ${job.task}`)
    } catch (err) {
      const { code, message } = err as { code?: string; message: string }
      errors.push({ id: job.id, code, message })
      if (!ctx.json) output.err(`${paint(output, 'red', 'not retried')}  ${job.id}  ${message}`)
    }
  }
  if (ctx.json) {
    output.out(
      JSON.stringify(
        { retried: retried.map((j) => ({ id: j.id, task: j.task, state: j.state })), errors },
        null,
        2,
      ),
    )
  }
  return errors.length === 0 ? EXIT.OK : EXIT.NOT_FOUND
}
