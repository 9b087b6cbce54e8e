/** A value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export interface JsonProblem {
  /** JSON path of the offending value, such as `input.items[2].at`. */
  path: string
  /** What is wrong and how to fix it. */
  message: string
}

export interface JsonCheck {
  /** The problem that makes the value not plain JSON, if any. */
  problem?: JsonProblem
  /** Paths where a `Date` stood; it was replaced by its ISO string in `value`. */
  datePaths: string[]
  /** The JSON form of the input (Dates as ISO strings). Only meaningful without `problem`. */
  value: unknown
}

/**
 * Checks that `value` is plain JSON, walking it once. `Date`s are turned into ISO strings (as
 * `JSON.stringify` would) and reported, so that the caller can accept them only when the task's
 * schema accepts the string. Everything else that `JSON.stringify` would silently change (drop,
 * turn into `null` or `{}`) or throw on is reported with its path.
 */
export function checkJson(value: unknown, root = 'input'): JsonCheck {
  // Nearly every input is plain JSON without Dates: copy it without building any path. Only a
  // value that has a problem or a Date takes the walk below, which names the paths.
  const copy = plainCopy(value, 0)
  if (copy !== NOT_PLAIN) return { datePaths: [], value: copy }
  const datePaths: string[] = []
  const seen = new Set<object>()

  function walk(v: unknown, path: string): { value?: unknown; problem?: JsonProblem } {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return { value: v }
      case 'number':
        return Number.isFinite(v)
          ? { value: v }
          : bad(path, `${String(v)} is not valid JSON; send a finite number or null`)
      case 'bigint':
        return bad(path, 'a BigInt is not JSON; send it as a string and parse it in the task')
      case 'undefined':
        return bad(path, 'undefined is not JSON; use null or leave the property out')
      case 'function':
        return bad(path, 'a function is not JSON; jobs carry data only')
      case 'symbol':
        return bad(path, 'a symbol is not JSON')
    }
    if (v === null) return { value: null }
    const obj = v as object
    if (obj instanceof Date) {
      if (Number.isNaN(obj.getTime())) return bad(path, 'an invalid Date is not JSON')
      datePaths.push(path)
      return { value: obj.toISOString() }
    }
    if (seen.has(obj)) return bad(path, 'a circular reference is not JSON')
    seen.add(obj)
    try {
      if (Array.isArray(obj)) {
        const out: unknown[] = []
        for (let i = 0; i < obj.length; i++) {
          // Holes and undefined both become null in JSON: refuse them rather than change the data.
          if (!(i in obj)) return bad(`${path}[${i}]`, 'an empty array slot is not JSON; use null')
          const r = walk(obj[i], `${path}[${i}]`)
          if (r.problem) return r
          out.push(r.value)
        }
        return { value: out }
      }
      const proto = Object.getPrototypeOf(obj) as unknown
      if (proto !== Object.prototype && proto !== null) {
        const kind = (obj.constructor as { name?: string } | undefined)?.name ?? 'object'
        return bad(path, `a ${kind} instance is not plain JSON; send a plain object or array`)
      }
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(obj)) {
        const child = (obj as Record<string, unknown>)[key]
        // JSON.stringify drops undefined properties; that is how optional fields are left out.
        if (child === undefined) continue
        const r = walk(child, `${path}${formatKey(key)}`)
        if (r.problem) return r
        out[key] = r.value
      }
      if (Object.getOwnPropertySymbols(obj).length > 0) {
        return bad(path, 'symbol-keyed properties are not JSON')
      }
      return { value: out }
    } finally {
      seen.delete(obj)
    }
  }

  const result = walk(value, root)
  return { problem: result.problem, datePaths, value: result.value }
}

const NOT_PLAIN = Symbol('not plain JSON')

/**
 * A copy of a value that is plain JSON without Dates, or `NOT_PLAIN`. Deeper than 100 levels
 * (a circular reference, or a very deep value) counts as not plain: the full walk decides.
 */
function plainCopy(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v
    case 'number':
      return Number.isFinite(v) ? v : NOT_PLAIN
    case 'object':
      break
    default:
      return NOT_PLAIN
  }
  if (v === null) return null
  if (depth > 100) return NOT_PLAIN
  if (Array.isArray(v)) {
    const out: unknown[] = new Array<unknown>(v.length)
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) return NOT_PLAIN
      const item = plainCopy(v[i], depth + 1)
      if (item === NOT_PLAIN) return NOT_PLAIN
      out[i] = item
    }
    return out
  }
  const proto = Object.getPrototypeOf(v) as unknown
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN
  const out: Record<string, unknown> = {}
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue
    const child = (v as Record<string, unknown>)[key]
    if (child === undefined) continue
    const copied = plainCopy(child, depth + 1)
    if (copied === NOT_PLAIN) return NOT_PLAIN
    out[key] = copied
  }
  if (Object.getOwnPropertySymbols(v).length > 0) return NOT_PLAIN
  return out
}

/** Formats one path segment: `.name` for identifiers, `[2]` for indexes, `["a b"]` otherwise. */
export function formatKey(key: PropertyKey): string {
  if (typeof key === 'number') return `[${key}]`
  if (typeof key === 'symbol') return `[${key.toString()}]`
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return `.${key}`
  if (/^\d+$/.test(key)) return `[${key}]`
  return `[${JSON.stringify(key)}]`
}

function bad(path: string, message: string): { problem: JsonProblem } {
  return { problem: { path, message } }
}
