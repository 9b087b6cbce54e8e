import {
  QUEUE_STATES,
  type JobInfo,
  type JobState,
  type QueueJobCounts,
  type QueueState,
} from '@afterward/core'
import { EXIT, type CommandContext } from '../context.js'
import { paint, table } from '../format.js'
import { collect } from './list.js'

const HOUR = 3_600_000
/** Jobs read per part of the per-task breakdown, at most. */
const SCAN = 10_000

interface TaskRow {
  queue: string
  task: string
  waiting: number
  delayed: number
  active: number
  completedLastHour: number
  failedLastHour: number
}

/**
 * `afterward stats`: per queue, how many jobs are in each state (exact, one read per queue);
 * per queue and task, the live jobs and those that completed or failed in the last hour
 * (counted from the jobs themselves, up to 10,000 of each kind).
 */
export async function statsCommand(ctx: CommandContext): Promise<number> {
  const { output, afterward } = ctx
  const now = output.now
  const queues: QueueJobCounts[] = await afterward.jobs.counts()
  const live = await collect(ctx, { state: ['waiting', 'delayed', 'active'] }, SCAN, undefined)
  // A job that finished in the last hour was deferred before that; reading those deferred in
  // the last day covers all but jobs delayed (or retried) for longer.
  const finished = await collect(ctx, { state: ['completed', 'failed'] }, SCAN, now - 24 * HOUR)
  const rows = new Map<string, TaskRow>()
  const row = (job: JobInfo): TaskRow => {
    const key = `${job.queue}\u0000${job.task}`
    let found = rows.get(key)
    if (!found) {
      found = {
        queue: job.queue,
        task: job.task,
        waiting: 0,
        delayed: 0,
        active: 0,
        completedLastHour: 0,
        failedLastHour: 0,
      }
      rows.set(key, found)
    }
    return found
  }
  for (const job of live.jobs) row(job)[job.state as 'waiting' | 'delayed' | 'active']++
  for (const job of finished.jobs) {
    if ((job.finishedAt?.getTime() ?? 0) < now - HOUR) continue
    row(job)[job.state === 'completed' ? 'completedLastHour' : 'failedLastHour']++
  }
  const tasks = [...rows.values()].sort((a, b) =>
    a.queue === b.queue ? a.task.localeCompare(b.task) : a.queue.localeCompare(b.queue),
  )
  const partial = live.next !== undefined || finished.jobs.length >= SCAN
  if (ctx.json) {
    output.out(JSON.stringify({ queues, tasks, partial }, null, 2))
    return EXIT.OK
  }
  output.out(paint(output, 'bold', 'Queues'))
  output.out(
    table(
      output,
      ['QUEUE', ...QUEUE_STATES.map((s) => s.toUpperCase())],
      queues.map((q) => [
        q.queue,
        ...QUEUE_STATES.map((s: QueueState) => count(ctx, s, q.counts[s])),
      ]),
    ),
  )
  output.out(
    `\n${paint(output, 'bold', 'Tasks')} ${paint(output, 'dim', '(live jobs; completed and failed in the last hour)')}`,
  )
  if (tasks.length === 0)
    output.out(paint(output, 'dim', 'no live jobs and none finished in the last hour'))
  else {
    output.out(
      table(
        output,
        ['QUEUE', 'TASK', 'WAITING', 'DELAYED', 'ACTIVE', 'COMPLETED 1H', 'FAILED 1H'],
        tasks.map((t) => [
          t.queue,
          t.task,
          String(t.waiting),
          String(t.delayed),
          String(t.active),
          String(t.completedLastHour),
          count(ctx, 'failed', t.failedLastHour),
        ]),
      ),
    )
  }
  if (partial)
    output.out(paint(output, 'dim', `\nTasks counted from the newest ${SCAN} jobs of each kind.`))
  return EXIT.OK
}

/** A count, red when failures are not zero. */
function count(ctx: CommandContext, state: JobState, n: number): { text: string; shown: string } {
  const text = String(n)
  return { text, shown: state === 'failed' && n > 0 ? paint(ctx.output, 'red', text) : text }
}
