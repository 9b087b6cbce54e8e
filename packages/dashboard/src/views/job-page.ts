import type { JobDetail } from '@afterward/core'
import { html, type Html } from '../html.js'
import { between, prettyJson, time } from './format.js'
import { href, layout, requestLink, seg, stateBadge, type ViewContext } from './layout.js'

/** The job view: what it was given, how each attempt ended, and Retry / Remove. */
export function jobPage(
  view: ViewContext,
  job: JobDetail,
  options: { notice?: string; error?: string } = {},
): Html {
  const action = (verb: 'retry' | 'remove', label: string, extra: Html | string = '') =>
    html`<form method="post" action="${href(view, `/jobs/${seg(job.id)}/${verb}`)}" ${extra}>
      <input type="hidden" name="_csrf" value="${view.csrfToken}" />
      <button type="submit" class="${verb}">${label}</button>
    </form>`
  const actions = html`<div class="actions">
    ${job.state === 'failed' ? action('retry', 'Retry') : ''}
    ${job.state === 'active' || job.state === 'pending' ? '' : action('remove', 'Remove', html` data-confirm="Remove this job? It cannot be undone."`)}
  </div>`
  const request =
    job.requestId === undefined
      ? html`<span class="none">none (enqueued outside a request)</span>`
      : requestLink(view, job.requestId)
  const facts = html`<dl class="facts">
    <dt>task</dt>
    <dd>${job.task}</dd>
    <dt>state</dt>
    <dd>${stateBadge(job.state)}</dd>
    <dt>queue</dt>
    <dd>${job.queue}</dd>
    <dt>request</dt>
    <dd>${request}</dd>
    ${
      job.key === undefined
        ? ''
        : html`<dt>key</dt>
            <dd>${job.key}</dd>`
    }
    <dt>attempts</dt>
    <dd>${job.attemptsMade} of ${job.maxAttempts}</dd>
    <dt>enqueued</dt>
    <dd>${time(job.createdAt)}</dd>
    <dt>last attempt started</dt>
    <dd>${time(job.startedAt)}</dd>
    <dt>finished</dt>
    <dd>${time(job.finishedAt)}</dd>
    <dt>waited</dt>
    <dd>${between(job.createdAt, job.startedAt)}</dd>
    <dt>last attempt ran</dt>
    <dd>${between(job.startedAt, job.finishedAt)}</dd>
  </dl>`
  const body = html`${actions} ${facts}
    <h2>Input</h2>
    <pre class="input">${prettyJson(job.input)}</pre>
    <h2>Errors</h2>
    ${errorList(job)}`
  const live = job.finishedAt === undefined
  return layout(view, `Job ${job.id}`, body, { query: job.id, live, ...options })
}

function errorList(job: JobDetail): Html {
  if (job.errors.length === 0) {
    return job.lastError
      ? html`<div class="attempt-error"><p class="message">${errorLine(job.lastError)}</p></div>`
      : html`<p class="empty">No attempt has failed.</p>`
  }
  return html`<ol class="errors">
    ${job.errors.map(
      (error) =>
        html`<li class="attempt-error">
          <p class="message">${errorLine(error)}</p>
          ${
            error.stack
              ? html`<details open>
                  <summary>stack</summary>
                  <pre class="stack">${error.stack}</pre>
                </details>`
              : ''
          }
        </li>`,
    )}
  </ol>`
}

function errorLine(error: { message: string; code: string | undefined }): Html {
  return html`${error.code ? html`<code>${error.code}</code> ` : ''}${error.message}`
}
