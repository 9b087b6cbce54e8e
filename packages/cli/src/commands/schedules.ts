import { EXIT, type CommandContext } from '../context.js'
import { duration, jobJson, paint, state, table, when } from '../format.js'

/** `afterward schedules`: each schedule in the broker, its timing, next run and last run. */
export async function schedulesCommand(ctx: CommandContext): Promise<number> {
  const { output } = ctx
  const schedules = await ctx.afterward.schedules.list()
  if (ctx.json) {
    output.out(JSON.stringify({ schedules: schedules.map((s) => jobJson(s)) }, null, 2))
    return schedules.length === 0 ? EXIT.NOT_FOUND : EXIT.OK
  }
  if (schedules.length === 0) {
    output.err(
      'No schedules: no task with a `schedule` has been synced (a worker syncs them as it starts).',
    )
    return EXIT.NOT_FOUND
  }
  output.out(
    table(
      output,
      ['SCHEDULE', 'TASK', 'QUEUE', 'WHEN', 'NEXT RUN', 'LAST RUN', 'LAST JOB'],
      schedules.map((s) => {
        const timing =
          s.cron !== undefined
            ? `${s.cron}${s.tz ? ` (${s.tz})` : ''}`
            : `every ${duration(s.every)}`
        const last = s.lastRun
        return [
          s.key,
          s.task,
          s.queue,
          timing,
          when(output, s.nextRunAt),
          last
            ? {
                text: `${last.state} ${when(output, last.tick)}`,
                shown: `${state(output, last.state)} ${when(output, last.tick)}`,
              }
            : '-',
          last?.jobId ?? '-',
        ]
      }),
    ),
  )
  output.out(paint(output, 'dim', '\nafterward job <LAST JOB> shows a run with its errors.'))
  return EXIT.OK
}
