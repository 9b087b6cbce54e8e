import { EXIT, jobNotFound, type CommandContext } from '../context.js'
import {
  attempts,
  both,
  duration,
  fields,
  indent,
  jobJson,
  paint,
  state,
  timings,
} from '../format.js'

/** `afterward job <id>`: one job with its input, each failed attempt's error and stack, timings. */
export async function jobCommand(ctx: CommandContext, id: string): Promise<number> {
  const job = await ctx.afterward.jobs.detail(id)
  const { output } = ctx
  if (!job) return jobNotFound(ctx, id)
  if (ctx.json) {
    output.out(JSON.stringify(jobJson(job), null, 2))
    return EXIT.OK
  }
  const { waited, ran } = timings(job)
  output.out(
    fields(output, [
      ['Job', paint(output, 'bold', job.id)],
      ['Task', job.task],
      ['Queue', job.queue],
      ['State', state(output, job.state)],
      ['Request', job.requestId ?? '-'],
      ['Key', job.key ?? '-'],
      ['Attempts', attempts(job)],
      ['Enqueued', both(output, job.createdAt)],
      ['Started', both(output, job.startedAt)],
      ['Finished', both(output, job.finishedAt)],
      ['Waited', duration(waited)],
      ['Ran', duration(ran)],
    ]),
  )
  output.out(
    `\n${paint(output, 'bold', 'Input')}\n${indent(JSON.stringify(job.input, null, 2) ?? 'undefined')}`,
  )
  if (job.errors.length > 0) {
    output.out(`\n${paint(output, 'bold', `Errors (${job.errors.length})`)}`)
    job.errors.forEach((error, n) => {
      const head = `#${n + 1} ${error.code ? `[${error.code}] ` : ''}${error.message}`
      const frames = error.stack?.split('\n').filter((line) => /^\s+at /.test(line)) ?? []
      output.out(indent(paint(output, 'red', head)))
      if (frames.length > 0)
        output.out(paint(output, 'dim', indent(frames.map((f) => f.trim()).join('\n'), 5)))
    })
  } else if (job.lastError) {
    output.out(`\n${paint(output, 'bold', 'Last error')}\n${indent(job.lastError.message)}`)
  }
  return EXIT.OK
}
