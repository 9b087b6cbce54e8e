import type { JobInfo } from '@afterward/core'
import { html, type Html } from '../html.js'
import { between, time } from './format.js'
import { href, requestLink, seg, stateBadge, table, type ViewContext } from './layout.js'

/** A table of jobs: one row each, linking to the job and to its request. */
export function jobsTable(view: ViewContext, jobs: readonly JobInfo[]): Html {
  if (jobs.length === 0) return html`<p class="empty">No jobs.</p>`
  const rows = jobs.map(
    (job) =>
      html`<tr>
        <td><a class="id" href="${href(view, `/jobs/${seg(job.id)}`)}">${job.id}</a></td>
        <td>${job.task}</td>
        <td>${stateBadge(job.state)}</td>
        <td>${job.queue}</td>
        <td class="num">${job.attemptsMade}/${job.maxAttempts}</td>
        <td>${time(job.createdAt)}</td>
        <td class="num">${between(job.startedAt, job.finishedAt)}</td>
        <td>${job.requestId === undefined ? '' : requestLink(view, job.requestId)}</td>
        <td class="message">${job.lastError?.message ?? ''}</td>
      </tr>`,
  )
  const headers = [
    'job',
    'task',
    'state',
    'queue',
    'attempts',
    'enqueued',
    'ran',
    'request',
    'last error',
  ]
  return table('jobs', headers, rows)
}
