import { EXIT, jobNotFound, type CommandContext } from '../context.js'
import { paint } from '../format.js'
import { refuseReadOnly } from './write-guard.js'

/** `afterward remove <id>`: deletes a job that is not running, after asking. */
export async function removeCommand(
  ctx: CommandContext,
  id: string,
  options: { yes?: boolean },
): Promise<number> {
  refuseReadOnly(ctx, 'remove')
  const { output, afterward } = ctx
  const job = await afterward.jobs.get(id)
  if (!job) return jobNotFound(ctx, id)
  if (!options.yes && !(await ctx.confirm(`Remove ${job.state} job ${id} (${job.task})?`))) {
    output.err('Nothing removed.')
    return EXIT.OK
  }
  await afterward.jobs.remove(id)
  if (ctx.json)
    output.out(JSON.stringify({ removed: { id, task: job.task, state: job.state } }, null, 2))
  else output.out(`${paint(output, 'green', 'removed')}  ${id}  ${job.task}`)
  return EXIT.OK
}
