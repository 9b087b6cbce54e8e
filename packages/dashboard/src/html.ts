// HTML built from templates that escape every interpolated value unless it is already `Html`:
// job inputs and errors are attacker-controlled text, so escaping is the default, not a step
// a view can forget.
import escapeHtml from 'escape-html'

/** Markup that is safe to insert as is: built by `html` or `raw`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

/** A value a template may interpolate: text is escaped, `Html` is kept, lists are joined. */
export type Interpolation = Html | string | number | boolean | null | undefined | Interpolation[]

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

/**
 * Tagged template for markup: every `${value}` is HTML-escaped (quotes included, so values may
 * stand in quoted attributes), except `Html` from another `html` template.
 *
 * @example
 * html`<p title="${job.task}">${job.lastError?.message}</p>`
 */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/** Trusted markup, inserted unescaped: only for constants of this package. */
export function raw(markup: string): Html {
  return new Html(markup)
}
