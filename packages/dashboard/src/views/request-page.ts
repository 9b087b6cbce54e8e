import { QUEUE_STATES, type JobInfo } from '@afterward/core'
import { html, type Html } from '../html.js'
import { layout, type ViewContext } from './layout.js'
import { timeline } from './timeline.js'

// `pending`: still in a transactional outbox, on its way to the broker.
const ALL_STATES = ['pending', ...QUEUE_STATES] as const

/** The request view: its jobs, oldest first, on a timeline. */
export function requestPage(
  view: ViewContext,
  requestId: string,
  jobs: readonly JobInfo[],
  now: Date,
  notice?: string,
): Html {
  const tally = ALL_STATES.map((state) => [state, jobs.filter((job) => job.state === state).length])
    .filter(([, n]) => n !== 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ')
  const body = html`<p class="summary">
      ${jobs.length} job${jobs.length === 1 ? '' : 's'}: ${tally}
    </p>
    ${timeline(view, jobs, now)}`
  const live = jobs.some((job) => job.finishedAt === undefined)
  return layout(view, `Request ${requestId}`, body, { query: requestId, notice, live })
}
