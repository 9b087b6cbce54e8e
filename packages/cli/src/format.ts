// How results look: aligned tables and colour on a terminal, the same text without colour when
// piped, relative and absolute times. Colour comes from Node's own `util.styleText`.
import { styleText } from 'node:util'
import type { JobInfo, JobState } from '@afterward/core'

/** Where output goes and whether it may be coloured. */
export interface Output {
  out(text: string): void
  err(text: string): void
  /** Colour on (a terminal without `NO_COLOR`, or `--color`). */
  color: boolean
  /** Times as ISO dates instead of "3m ago". */
  absolute: boolean
  /** The clock times are relative to. */
  now: number
}

type Style = Parameters<typeof styleText>[0]

// Whether to colour is decided once (Output.color); newer Nodes would otherwise check stdout
// again and drop the colour asked for with --color. (Older ones ignore the option.)
const style = styleText as (
  format: Style,
  text: string,
  options: { validateStream: boolean },
) => string

export function paint(output: Output, format: Style, text: string): string {
  return output.color && text !== '' ? style(format, text, { validateStream: false }) : text
}

const STATE_STYLE: Record<JobState, Style> = {
  pending: 'magenta',
  waiting: 'cyan',
  delayed: 'blue',
  active: 'yellow',
  completed: 'green',
  failed: 'red',
}

export function state(output: Output, value: JobState): string {
  return paint(output, STATE_STYLE[value], value)
}

/** A cell: its plain text (for widths) and what is printed. */
export type Cell = string | { text: string; shown: string }

/**
 * Columns padded to their widest cell, two spaces apart, header dimmed. The last column is
 * not padded, so lines carry no trailing spaces.
 */
export function table(output: Output, header: readonly string[], rows: readonly Cell[][]): string {
  const plain = (cell: Cell): string => (typeof cell === 'string' ? cell : cell.text)
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => plain(r[i] ?? '').length)),
  )
  const line = (cells: readonly Cell[], dim: boolean): string =>
    cells
      .map((cell, i) => {
        const text = plain(cell)
        const shown = typeof cell === 'string' ? cell : cell.shown
        const pad = i === cells.length - 1 ? '' : ' '.repeat(widths[i]! - text.length)
        return (dim ? paint(output, 'dim', text) : shown) + pad
      })
      .join('  ')
      .trimEnd()
  return [line(header, true), ...rows.map((r) => line(r, false))].join('\n')
}

/** `3s`, `1.2s`, `4m 05s`, `2h 10m`; `-` without a value. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-'
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)}s`
  const s = Math.round(ms / 1_000)
  if (s < 3_600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
  const m = Math.round(s / 60)
  if (m < 1_440) return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`
  return `${Math.floor(m / 1_440)}d ${Math.floor((m % 1_440) / 60)}h`
}

/** `2m ago` (or `in 5s` for a time ahead), or the ISO time with `--absolute`; `-` without one. */
export function when(output: Output, date: Date | undefined): string {
  if (!date) return '-'
  if (output.absolute) return date.toISOString()
  const ms = output.now - date.getTime()
  return ms >= 0 ? `${duration(ms)} ago` : `in ${duration(-ms)}`
}

/** Both: `2026-11-26T10:31:02.120Z (2m ago)`. */
export function both(output: Output, date: Date | undefined): string {
  if (!date) return '-'
  const ms = output.now - date.getTime()
  return `${date.toISOString()} (${ms >= 0 ? `${duration(ms)} ago` : `in ${duration(-ms)}`})`
}

export const attempts = (job: JobInfo): string => `${job.attemptsMade}/${job.maxAttempts}`

/** How long the job waited before its last attempt started, and how long that attempt ran. */
export function timings(job: JobInfo): { waited: number | undefined; ran: number | undefined } {
  const started = job.startedAt?.getTime()
  const finished = job.finishedAt?.getTime()
  return {
    waited: started === undefined ? undefined : started - job.createdAt.getTime(),
    ran: started === undefined || finished === undefined ? undefined : finished - started,
  }
}

/** The last error on one line, cut to `max` characters. */
export function lastError(job: JobInfo, max = 60): string {
  const error = job.lastError
  if (!error) return ''
  const text = `${error.code ? `[${error.code}] ` : ''}${error.message}`.replace(/\s+/g, ' ')
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A job (or schedule) as `--json` prints it: dates as ISO strings, absent values as null. */
export function jobJson(job: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(job, (_key, value: unknown) => value ?? null)) as Record<
    string,
    unknown
  >
}

/** `label  value` lines, labels padded to the widest, dimmed. */
export function fields(output: Output, rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows
    .map(([label, value]) => `${paint(output, 'dim', label.padEnd(width))}  ${value}`)
    .join('\n')
}

/** Every line of `text` indented by `by` spaces. */
export function indent(text: string, by = 2): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : ' '.repeat(by) + line))
    .join('\n')
}
