import { QUEUE_STATES, type JobListPage, type QueueState } from '@afterward/core'
import { html, type Html } from '../html.js'
import { jobsTable } from './jobs-table.js'
import { href, layout, type ViewContext } from './layout.js'

/** The filters of a list, as they appear in its URL. */
export interface ListFilters {
  state: QueueState | undefined
  task: string | undefined
  queue: string | undefined
  cursor: string | undefined
}

/** Jobs by state, task and queue, newest first, a page at a time. */
export function listPage(
  view: ViewContext,
  filters: ListFilters,
  page: JobListPage,
  tasks: readonly string[],
): Html {
  const { state, task, queue, cursor } = filters
  const options = QUEUE_STATES.map(
    (s) => html`<option value="${s}" ${s === state ? html` selected` : ''}>${s}</option>`,
  )
  const form = html`<form class="filters" method="get" action="${href(view, '/jobs')}">
    <label
      >state
      <select name="state">
        <option value="">any</option>
        ${options}
      </select></label
    >
    <label>task <input name="task" value="${task ?? ''}" list="tasks" placeholder="any" /></label>
    <label>queue <input name="queue" value="${queue ?? ''}" placeholder="any" /></label>
    <button type="submit">Filter</button>
    <datalist id="tasks">${tasks.map((name) => html`<option value="${name}"></option>`)}</datalist>
  </form>`
  const same = { state, task, queue }
  const pager = html`<nav class="pager">
    ${cursor ? html`<a href="${href(view, '/jobs', same)}">← Newest</a>` : ''}
    ${page.next ? html`<a rel="next" href="${href(view, '/jobs', { ...same, cursor: page.next })}">Older →</a>` : ''}
  </nav>`
  const heading = [state ?? 'All', 'jobs', task ? `of ${task}` : '', queue ? `in ${queue}` : '']
    .filter(Boolean)
    .join(' ')
  return layout(view, heading.charAt(0).toUpperCase() + heading.slice(1), [
    form,
    jobsTable(view, page.jobs),
    pager,
  ])
}
