import type { Html } from './html.js'

/** What the dashboard answers; each framework entry writes it out as is. */
export interface DashboardResponse {
  status: number
  headers: Record<string, string>
  body: string
}

// Every answer: no caching (job inputs are private), no framing, no inline script or style, so
// that even markup that escaped escaping could not run.
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
}

export function respond(
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): DashboardResponse {
  return { status, headers: { ...SECURITY_HEADERS, 'content-type': type, ...headers }, body }
}

export const page = (status: number, markup: Html, headers?: Record<string, string>) =>
  respond(status, 'text/html; charset=utf-8', markup.value, headers)

export const json = (status: number, value: unknown, headers?: Record<string, string>) =>
  respond(status, 'application/json; charset=utf-8', JSON.stringify(value), headers)

export const redirect = (location: string, headers?: Record<string, string>) =>
  respond(303, 'text/plain; charset=utf-8', `See ${location}`, { ...headers, location })
