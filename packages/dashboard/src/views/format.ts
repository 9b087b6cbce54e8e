// Times and durations as the pages show them. Times are rendered in UTC with the exact instant
// in `datetime`; the page's script rewrites them in the viewer's time zone and adds "3 min ago".
import { html, type Html } from '../html.js'

/** A `<time>` element, or an em dash for a time that has not come. */
export function time(at: Date | undefined): Html {
  if (at === undefined) return html`<span class="none">—</span>`
  const iso = at.toISOString()
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`
}

/** `850 ms`, `3.2 s`, `4 min 5 s`, `2 h 10 min`, `3 d 4 h`. */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`
  const parts = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`
  if (ms < 3_600_000)
    return parts(Math.floor(ms / 60_000), 'min', Math.floor((ms % 60_000) / 1_000), 's')
  if (ms < 86_400_000)
    return parts(Math.floor(ms / 3_600_000), 'h', Math.floor((ms % 3_600_000) / 60_000), 'min')
  return parts(Math.floor(ms / 86_400_000), 'd', Math.floor((ms % 86_400_000) / 3_600_000), 'h')
}

/** The duration between two times, or an em dash when either is missing. */
export function between(from: Date | undefined, to: Date | undefined): Html {
  if (from === undefined || to === undefined) return html`<span class="none">—</span>`
  return html`${duration(to.getTime() - from.getTime())}`
}

/** JSON, indented, for `<pre>`: a job's input. */
export function prettyJson(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value, null, 2)
}
