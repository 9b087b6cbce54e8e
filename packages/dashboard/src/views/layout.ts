import { QUEUE_STATES } from '@afterward/core'
import { html, type Html, type Interpolation } from '../html.js'

/** What every view needs from the request: where the dashboard is mounted, its CSRF token. */
export interface ViewContext {
  /** The mount path without a trailing slash: `''` or `'/afterward'`. */
  base: string
  title: string
  /** The token Retry and Remove forms carry. */
  csrfToken: string
}

/** A link below the mount path; query values that are undefined are left out. */
export function href(
  view: ViewContext,
  path: string,
  query: Record<string, string | undefined> = {},
): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value)
  const search = params.toString()
  return `${view.base}${path}${search ? `?${search}` : ''}`
}

/** A path segment for an id taken from a job (ids may hold any character). */
export const seg = (id: string): string => encodeURIComponent(id)

/** A link to a request's page, showing its id. */
export function requestLink(view: ViewContext, requestId: string): Html {
  return html`<a class="id" href="${href(view, `/requests/${seg(requestId)}`)}">${requestId}</a>`
}

/** The state as a coloured badge. */
export function stateBadge(state: string): Html {
  return html`<span class="state state-${state}">${state}</span>`
}

/** A table of class `name`: one header cell per entry of `headers`, then `rows`. */
export function table(name: string, headers: readonly Interpolation[], rows: Interpolation): Html {
  return html`<table class="${name}">
    <thead>
      <tr>
        ${headers.map((header) => html`<th>${header}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`
}

/**
 * A whole page: header with the search box and state links, then `body`. A `live` page (jobs
 * still to finish) is reloaded every few seconds by the script, so that it shows them finish.
 */
export function layout(
  view: ViewContext,
  heading: string,
  body: Interpolation,
  options: { query?: string; notice?: string; error?: string; live?: boolean } = {},
): Html {
  const nav = QUEUE_STATES.map(
    (state) => html`<a href="${href(view, '/jobs', { state })}">${state}</a>`,
  )
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>${heading} · ${view.title}</title>
        <link rel="stylesheet" href="${href(view, '/assets/dashboard.css')}" />
        <script src="${href(view, '/assets/dashboard.js')}" defer></script>
      </head>
      <body>
        <header>
          <a class="brand" href="${href(view, '/')}">${view.title}</a>
          <form class="search" method="get" action="${href(view, '/search')}" role="search">
            <input
              type="search"
              name="q"
              value="${options.query ?? ''}"
              placeholder="Request id or job id"
              aria-label="Request id or job id"
              required
            />
            <button type="submit">Find</button>
          </form>
          <nav><a href="${href(view, '/jobs')}">all jobs</a>${nav}</nav>
        </header>
        <main${options.live ? html` data-live` : ''}>
          ${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
          ${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
          <h1>${heading}</h1>
          ${body}
        </main>
      </body>
    </html> `
}
