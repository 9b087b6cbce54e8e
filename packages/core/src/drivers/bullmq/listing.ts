// `list` and `counts` of the bullmq() driver, on BullMQ's public getters only, so that they work
// the same on Redis and on PostgreSQL.
import type { JobType, Queue } from 'bullmq'
import type {
  JobCountsQuery,
  JobInfo,
  JobListPage,
  JobListQuery,
  QueueState,
  QueueJobCounts,
} from '../../driver.js'
import {
  NewestFirst,
  countsQueue,
  listFilter,
  zeroCounts,
  type ListFilter,
} from '../../job-list.js'
import { type BullJobLike, toInfo } from './job-data.js'

/** BullMQ's states behind each of Afterward's, in the order a job moves through them. */
const BULL_STATES: readonly (readonly [JobType, QueueState])[] = [
  ['delayed', 'delayed'],
  ['waiting', 'waiting'],
  ['prioritized', 'waiting'],
  ['waiting-children', 'waiting'],
  ['active', 'active'],
  ['failed', 'failed'],
  ['completed', 'completed'],
]

/** Jobs read per round trip while a state is scanned. */
const CHUNK = 200
/** How far apart the clocks of apps and workers may be, for the early stop below. */
const CLOCK_SKEW_MS = 5_000

type Kept = { createdAt: number; id: string; info: JobInfo }

/**
 * One page of the jobs of `names`, newest first. BullMQ keeps no index by creation time or by
 * task, so each selected state of each queue is read in chunks. Finished jobs are read newest
 * finish first, and the read stops once every job left finished (give or take clock skew) before
 * the page's oldest job was created; the other states are read whole.
 */
export async function listJobs(
  queue: (name: string) => Promise<Queue>,
  names: () => Promise<string[]>,
  query: JobListQuery | undefined,
): Promise<JobListPage> {
  const filter = listFilter(query)
  const newest = new NewestFirst<Kept>(filter)
  for (const name of filter.queue === undefined ? await names() : [filter.queue]) {
    const q = await queue(name)
    // Read in the order jobs move, so that a job moving on while it is read is read twice (the
    // later copy wins) rather than missed. Only a retry moves back (active to delayed).
    for (const [bullState, state] of BULL_STATES) {
      if (filter.states.has(state)) await scan(q, bullState, filter, newest)
    }
  }
  return newest.page((kept) => kept.info)
}

async function scan(
  q: Queue,
  bullState: JobType,
  filter: ListFilter,
  newest: NewestFirst<Kept>,
): Promise<void> {
  const byFinish = bullState === 'completed' || bullState === 'failed'
  for (let start = 0; ; start += CHUNK) {
    // Newest first; for finished jobs that is by finish time.
    const ids = await q.getRanges([bullState], start, start + CHUNK - 1, false)
    const jobs = (await Promise.all(ids.map((id) => q.getJob(id)))) as (BullJobLike | undefined)[]
    let earliestFinish = Infinity
    for (const job of jobs) {
      if (!job) continue
      if (byFinish) earliestFinish = Math.min(earliestFinish, job.finishedOn ?? Infinity)
      if (filter.task !== undefined && job.name !== filter.task) continue
      const info = toInfo(job, bullState)
      if (info) newest.offer({ createdAt: job.timestamp, id: info.id, info })
    }
    if (ids.length < CHUNK) return
    // A job is created before it finishes: none of the rest can enter a full page. (Its
    // creation time is the app's clock, its finish time a worker's: allow for some skew.)
    const oldest = newest.oldest
    if (byFinish && oldest && earliestFinish < oldest.createdAt - CLOCK_SKEW_MS) return
  }
}

/** Counts per queue of `names` (or of the one queue asked for), ordered by queue name. */
export async function countJobs(
  queue: (name: string) => Promise<Queue>,
  names: () => Promise<string[]>,
  query: JobCountsQuery | undefined,
): Promise<QueueJobCounts[]> {
  const only = countsQueue(query)
  const queues = only === undefined ? [...(await names())].sort() : [only]
  return Promise.all(
    queues.map(async (name) => {
      const raw = await (
        await queue(name)
      ).getJobCounts(...BULL_STATES.map(([bullState]) => bullState))
      const counts = zeroCounts()
      for (const [bullState, state] of BULL_STATES) counts[state] += raw[bullState] ?? 0
      return { queue: name, counts }
    }),
  )
}
