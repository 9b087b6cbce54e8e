import { QUEUE_STATES, type JobInfo } from '@afterward/core'
import { EXIT, type CommandContext } from '../context.js'
import {
  attempts,
  duration,
  jobJson,
  lastError,
  paint,
  state,
  table,
  timings,
  when,
} from '../format.js'

/** `afterward request <requestId>`: every job the request deferred, oldest first. */
export async function requestCommand(ctx: CommandContext, requestId: string): Promise<number> {
  const jobs = await ctx.afterward.jobs.byRequest(requestId)
  const { output } = ctx
  if (ctx.json) output.out(JSON.stringify({ requestId, jobs: jobs.map(jobJson) }, null, 2))
  if (jobs.length === 0) {
    if (!ctx.json) {
      output.err(
        `No jobs for request '${requestId}': it deferred none, its response failed (its jobs were discarded), or they are past their retention period.`,
      )
    }
    return EXIT.NOT_FOUND
  }
  if (ctx.json) return EXIT.OK
  output.out(`${paint(output, 'bold', `Request ${requestId}`)}: ${summary(jobs)}\n`)
  output.out(
    table(
      output,
      [
        'JOB',
        'TASK',
        'STATE',
        'ATTEMPTS',
        'ENQUEUED',
        'STARTED',
        'FINISHED',
        'WAITED',
        'RAN',
        'LAST ERROR',
      ],
      jobs.map((job) => {
        const { waited, ran } = timings(job)
        return [
          job.id,
          job.task,
          { text: job.state, shown: state(output, job.state) },
          attempts(job),
          when(output, job.createdAt),
          when(output, job.startedAt),
          when(output, job.finishedAt),
          duration(waited),
          duration(ran),
          lastError(job),
        ]
      }),
    ),
  )
  return EXIT.OK
}

/** `3 jobs: 2 completed, 1 failed`. */
export function summary(jobs: readonly JobInfo[]): string {
  const parts = (['pending', ...QUEUE_STATES] as const).flatMap((name) => {
    const n = jobs.filter((job) => job.state === name).length
    return n === 0 ? [] : [`${n} ${name}`]
  })
  return `${jobs.length} job${jobs.length === 1 ? '' : 's'}: ${parts.join(', ')}`
}
