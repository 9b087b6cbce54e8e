// `list` and `counts` of the memory driver: a scan of the jobs it holds (at most
// `keepFinished` finished ones besides the live ones).
import type { JobCountsQuery, JobListPage, JobListQuery, QueueJobCounts } from '../driver.js'
import { NewestFirst, countsQueue, listFilter, zeroCounts } from '../job-list.js'
import { type Entry, info } from './memory-entry.js'

/** One page of `entries`, newest first. */
export function listJobs(entries: Iterable<Entry>, query: JobListQuery | undefined): JobListPage {
  const filter = listFilter(query)
  const newest = new NewestFirst<{ createdAt: number; id: string; entry: Entry }>(filter)
  for (const entry of entries) {
    const r = entry.record
    if (!filter.states.has(entry.state)) continue
    if (filter.task !== undefined && r.task !== filter.task) continue
    if (filter.queue !== undefined && r.options.queue !== filter.queue) continue
    newest.offer({ createdAt: r.createdAt, id: r.id, entry })
  }
  return newest.page((kept) => info(kept.entry))
}

/** Counts per queue: every queue that holds a job or had one waiting, or the one asked for. */
export function countJobs(
  entries: Iterable<Entry>,
  queues: Iterable<string>,
  query: JobCountsQuery | undefined,
): QueueJobCounts[] {
  const only = countsQueue(query)
  const byQueue = new Map<string, QueueJobCounts>()
  const of = (queue: string): QueueJobCounts => {
    let row = byQueue.get(queue)
    if (!row) byQueue.set(queue, (row = { queue, counts: zeroCounts() }))
    return row
  }
  if (only !== undefined) of(only)
  else for (const queue of queues) of(queue)
  for (const entry of entries) {
    const queue = entry.record.options.queue
    if (only === undefined || queue === only) of(queue).counts[entry.state]++
  }
  return [...byQueue.values()].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0))
}
