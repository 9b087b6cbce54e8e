import { QUEUE_STATES, type JobInfo, type QueueJobCounts } from '@afterward/core'
import { html, type Html } from '../html.js'
import { jobsTable } from './jobs-table.js'
import { href, layout, table, type ViewContext } from './layout.js'

/** The overview: the search box, counts per queue, the latest failed jobs. */
export function homePage(
  view: ViewContext,
  counts: readonly QueueJobCounts[],
  failed: readonly JobInfo[],
  notice?: string,
): Html {
  const rows = counts.map(
    ({ queue, counts: byState }) =>
      html`<tr>
        <th scope="row"><a href="${href(view, '/jobs', { queue })}">${queue}</a></th>
        ${QUEUE_STATES.map((state) => html`<td class="num"><a class="count count-${state}" href="${href(view, '/jobs', { queue, state })}">${byState[state]}</a></td>`)}
      </tr>`,
  )
  const body = html`<form
      class="search big"
      method="get"
      action="${href(view, '/search')}"
      role="search"
    >
      <label for="q"
        >Did it run? Paste a request id (the <code>x-request-id</code> of a response) or a job
        id.</label
      >
      <div>
        <input
          id="q"
          type="search"
          name="q"
          placeholder="Request id or job id"
          required
          autofocus
        /><button type="submit">Find</button>
      </div>
    </form>
    <h2>Queues</h2>
    ${
      counts.length === 0
        ? html`<p class="empty">No queue has held a job yet.</p>`
        : table('counts', ['queue', ...QUEUE_STATES], rows)
    }
    <h2>Latest failed jobs</h2>
    ${jobsTable(view, failed)}
    ${failed.length > 0 ? html`<p><a href="${href(view, '/jobs', { state: 'failed' })}">All failed jobs</a></p>` : ''}`
  return layout(view, 'Jobs', body, { notice })
}
