import { QUEUE_STATES, type JobInfo, type JobListQuery, type QueueState } from '@afterward/core'
import { EXIT, type CommandContext } from '../context.js'
import { attempts, jobJson, lastError, paint, state, table, when } from '../format.js'
import { parseSince } from '../since.js'
import { UsageError } from '../usage-error.js'

export interface ListOptions {
  state?: string
  task?: string
  queue?: string
  since?: string
  limit?: string
  cursor?: string
}

/** `--state failed,delayed`: the states, checked. */
export function parseStates(value: string | undefined): QueueState[] | undefined {
  if (value === undefined) return undefined
  const states = value.split(',').map((s) => s.trim())
  const bad = states.find((s) => !(QUEUE_STATES as readonly string[]).includes(s))
  if (bad !== undefined) {
    throw new UsageError(
      `--state ${bad}: choose from ${QUEUE_STATES.join(', ')} (several: --state failed,delayed).`,
    )
  }
  return states as QueueState[]
}

export function parseLimit(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const limit = Number(value)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) {
    throw new UsageError(`--limit ${value}: give a whole number from 1 to 1000.`)
  }
  return limit
}

/**
 * Jobs newest first, up to `limit`, created at or after `since` (ms) when given: `list` pages
 * are read until one reaches a job created before it.
 */
export async function collect(
  ctx: CommandContext,
  query: JobListQuery,
  limit: number,
  since: number | undefined,
): Promise<{ jobs: JobInfo[]; next: string | undefined }> {
  const jobs: JobInfo[] = []
  let cursor = query.cursor
  for (;;) {
    const pageSize = Math.min(1_000, limit - jobs.length)
    const page = await ctx.afterward.jobs.list({ ...query, limit: pageSize, cursor })
    for (const job of page.jobs) {
      if (since !== undefined && job.createdAt.getTime() < since) return { jobs, next: undefined }
      jobs.push(job)
    }
    if (!page.next || jobs.length >= limit) return { jobs, next: page.next }
    cursor = page.next
  }
}

/** `afterward list [--state --task --queue --since --limit --cursor]`. */
export async function listCommand(ctx: CommandContext, options: ListOptions): Promise<number> {
  const { output } = ctx
  const limit = parseLimit(options.limit, 50)
  const since = options.since === undefined ? undefined : parseSince(options.since, output.now)
  const query: JobListQuery = {
    ...(options.state === undefined ? {} : { state: parseStates(options.state)! }),
    ...(options.task === undefined ? {} : { task: options.task }),
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
  }
  const { jobs, next } = await collect(ctx, query, limit, since)
  if (ctx.json) {
    output.out(JSON.stringify({ jobs: jobs.map(jobJson), next: next ?? null }, null, 2))
    return jobs.length === 0 ? EXIT.NOT_FOUND : EXIT.OK
  }
  if (jobs.length === 0) {
    output.err('No jobs match.')
    return EXIT.NOT_FOUND
  }
  output.out(
    table(
      output,
      ['JOB', 'TASK', 'QUEUE', 'STATE', 'ATTEMPTS', 'ENQUEUED', 'REQUEST', 'LAST ERROR'],
      jobs.map((job) => [
        job.id,
        job.task,
        job.queue,
        { text: job.state, shown: state(output, job.state) },
        attempts(job),
        when(output, job.createdAt),
        job.requestId ?? '-',
        lastError(job, 50),
      ]),
    ),
  )
  if (next) output.out(paint(output, 'dim', `\nMore: add --cursor ${next}`))
  return EXIT.OK
}
