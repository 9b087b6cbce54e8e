import { html, type Html } from '../html.js'
import { href, layout, type ViewContext } from './layout.js'

/** A page that only says something: nothing found, a bad query, the broker unreachable. */
export function messagePage(
  view: ViewContext,
  heading: string,
  message: string,
  query?: string,
): Html {
  const body = html`<p>${message}</p>
    <p><a href="${href(view, '/')}">Back to the overview</a></p>`
  return layout(view, heading, body, { query })
}

/**
 * The 401 page. It has no layout: the stylesheet and the script are behind auth too, and it
 * must not show anything of the dashboard.
 */
export function unauthorizedPage(basic: boolean): Html {
  const hint = basic
    ? 'Sign in with the dashboard’s user name and password.'
    : 'Sign in to the application first, then reload this page.'
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>401 Unauthorized</title>
      </head>
      <body>
        <h1>401 Unauthorized</h1>
        <p>${hint}</p>
      </body>
    </html> `
}
