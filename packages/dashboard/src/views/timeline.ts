import type { JobInfo } from '@afterward/core'
import { html, type Html } from '../html.js'
import { between, duration, time } from './format.js'
import { href, seg, stateBadge, type ViewContext } from './layout.js'

// Each job is a bar on one time axis shared by the request's jobs: a pale part from its defer
// to the start of its last attempt (waiting, delays, earlier attempts and backoff), then a
// solid part while the last attempt ran (up to now for an active job). SVG attributes, not
// inline styles, so that the Content-Security-Policy can forbid inline styles.
const WIDTH = 1000

/** The request view's table: every job with its bar on the shared time axis. */
export function timeline(view: ViewContext, jobs: readonly JobInfo[], now: Date): Html {
  const start = Math.min(...jobs.map((job) => job.createdAt.getTime()))
  const end = Math.max(...jobs.map((job) => (job.finishedAt ?? now).getTime()), start + 1)
  const x = (at: Date) => ((at.getTime() - start) / (end - start)) * WIDTH
  const rows = jobs.map((job) => {
    const ranTo = job.finishedAt ?? now
    const bar = (from: number, to: number, kind: string) =>
      html`<rect
        class="${kind}"
        x="${from.toFixed(1)}"
        y="2"
        width="${Math.max(to - from, 2).toFixed(1)}"
        height="12"
      ></rect>`
    const waited = bar(x(job.createdAt), x(job.startedAt ?? ranTo), 'bar-wait')
    const ran = job.startedAt ? bar(x(job.startedAt), x(ranTo), `bar-${job.state}`) : ''
    return html`<tr>
      <td><a href="${href(view, `/jobs/${seg(job.id)}`)}">${job.task}</a></td>
      <td>${stateBadge(job.state)}</td>
      <td class="num">${job.attemptsMade}/${job.maxAttempts}</td>
      <td class="bar">
        <svg
          viewBox="0 0 ${WIDTH} 16"
          preserveAspectRatio="none"
          role="img"
          aria-label="${job.task}: ${job.state}"
        >
          ${waited}${ran}
        </svg>
      </td>
      <td>${time(job.createdAt)}</td>
      <td class="num">${between(job.createdAt, job.startedAt)}</td>
      <td class="num">${between(job.startedAt, job.finishedAt)}</td>
      <td class="message">${job.lastError?.message ?? ''}</td>
    </tr>`
  })
  return html`<table class="timeline">
      <thead>
        <tr>
          <th>task</th>
          <th>state</th>
          <th>attempts</th>
          <th class="axis"><span>0</span><span>${duration(end - start)}</span></th>
          <th>enqueued</th>
          <th>waited</th>
          <th>ran</th>
          <th>last error</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
    <p class="legend">
      <span class="key key-wait"></span> waiting (and earlier attempts)
      <span class="key key-run"></span> last attempt
    </p>`
}
