// Hiding input fields (passwords, tokens) from what operators read: `createAfterward({ redact })`
// applies it to every read through `afterward.jobs`, so the CLI and the dashboard show the same.
import { AfterwardError, ErrorCode } from './errors.js'

/**
 * Which input fields to hide. Paths are dot paths into the input, with `[n]` or `.n` for an
 * array index and `*` for every key or index at that level (`password`, `card.number`,
 * `users[*].token`); a hidden field's value becomes `'[redacted]'`, a missing one stays
 * missing. A function gets the input (a copy it may change) and the task name and returns what
 * to show.
 */
export type Redact = readonly string[] | ((input: unknown, task: string) => unknown)

/** What a hidden field shows. */
export const REDACTED = '[redacted]'

type Hide = (input: unknown, task: string) => unknown

/**
 * Returns `input` with the fields `redact` names hidden; `input` itself is not changed. A
 * `redact` function that throws hides the whole input (shown as `'[redacted]'`), so that a
 * bug never shows a secret.
 *
 * @example
 * redactInput({ email: 'a@b.c', password: 'x' }, ['password'], 'signup')
 * // { email: 'a@b.c', password: '[redacted]' }
 */
export function redactInput(input: unknown, redact: Redact | undefined, task = ''): unknown {
  const hide = compileRedact(redact)
  return hide ? hide(input, task) : input
}

/**
 * Checks `redact` once and returns the function that applies it, or undefined when nothing is
 * hidden. Refuses paths that are not non-empty strings with `AFTERWARD_CONFIG_INVALID`.
 */
export function compileRedact(redact: Redact | undefined): Hide | undefined {
  if (redact === undefined) return undefined
  if (typeof redact === 'function') {
    return (input, task) => {
      try {
        return redact(structuredClone(input), task)
      } catch {
        return REDACTED
      }
    }
  }
  if (!Array.isArray(redact)) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      "redact must be a list of input paths (['password', 'card.number', 'users[*].token']) or a function (input, task) => shown input.",
    )
  }
  const paths = redact.map(parsePath)
  if (paths.length === 0) return undefined
  return (input) => paths.reduce((value, path) => hideAt(value, path, 0), input)
}

function parsePath(path: unknown): string[] {
  const segments =
    typeof path === 'string' ? path.replace(/\[([^\]]*)\]/g, '.$1').split('.') : undefined
  if (segments && segments[0] === '') segments.shift() // a path that starts with `[*]`
  if (!segments || segments.length === 0 || segments.some((s) => s === '')) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `redact: ${JSON.stringify(path)} is not an input path; write it as 'password', 'card.number' or 'users[*].token'.`,
    )
  }
  return segments
}

/** A copy of `value` with the field at `path` (from `at` on) hidden; shares what it leaves. */
function hideAt(value: unknown, path: readonly string[], at: number): unknown {
  if (at === path.length) return REDACTED
  if (typeof value !== 'object' || value === null) return value
  const segment = path[at]!
  const source = value as Record<string, unknown>
  const keys =
    segment === '*' ? Object.keys(source) : Object.hasOwn(source, segment) ? [segment] : []
  if (keys.length === 0) return value
  const copy = (Array.isArray(value) ? [...value] : { ...source }) as Record<string, unknown>
  for (const key of keys) copy[key] = hideAt(source[key], path, at + 1)
  return copy
}
