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
  /**
   * At least the UTF-8 byte length of `JSON.stringify(value)`, counted during the walk, so that
   * small inputs pass a size limit without being serialized. Only meaningful without `problem`.
   */
  maxBytes: number
}

/**
 * Deepest nesting of objects and arrays accepted in a job's input. Deeper input is refused with
 * its path rather than walked: every recursive step after this check (schemas, copies,
 * `JSON.stringify`, the broker's encoding) would risk a stack overflow instead of an error.
 */
export const MAX_JSON_DEPTH = 100

// Longest JSON forms: a number (`-2.2250738585072014e-308`) and a UTF-16 unit in a string (`\uXXXX`).
const MAX_NUMBER_BYTES = 24
const MAX_CHAR_BYTES = 6

/**
 * Checks that `value` is plain JSON, walking it once. `Date`s are turned into ISO strings (as
 * `JSON.stringify` would) and reported, so that the caller can accept them only when the task's
 * schema accepts the string. Everything else that `JSON.stringify` would silently change (drop,
 * turn into `null` or `{}`) or throw on is reported with its path.
 */
export function checkJson(value: unknown, root = 'input'): JsonCheck {
  const walker = new JsonWalker(root)
  const json = walker.walk(value)
  const { problem, datePaths, maxBytes } = walker
  return { problem, datePaths, value: json, maxBytes }
}

// A class rather than closures over the state: this runs for every defer.
class JsonWalker {
  problem: JsonProblem | undefined
  readonly datePaths: string[] = []
  maxBytes = 0
  readonly #seen = new Set<object>()
  // Keys from the root to the value being walked; made into a path string only when reported.
  readonly #keys: (string | number)[] = []
  constructor(readonly root: string) {}

  /** Returns the JSON form of `v`, or sets `problem` (then every caller returns at once). */
  walk(v: unknown): unknown {
    switch (typeof v) {
      case 'string':
        this.maxBytes += v.length * MAX_CHAR_BYTES + 2
        return v
      case 'boolean':
        this.maxBytes += 5
        return v
      case 'number':
        if (!Number.isFinite(v)) {
          return this.#bad(`${String(v)} is not valid JSON; send a finite number or null`)
        }
        this.maxBytes += MAX_NUMBER_BYTES
        return v
      case 'bigint':
        return this.#bad('a BigInt is not JSON; send it as a string and parse it in the task')
      case 'undefined':
        return this.#bad('undefined is not JSON; use null or leave the property out')
      case 'function':
        return this.#bad('a function is not JSON; jobs carry data only')
      case 'symbol':
        return this.#bad('a symbol is not JSON')
    }
    if (v === null) {
      this.maxBytes += 4
      return null
    }
    const obj = v as object
    if (obj instanceof Date) {
      if (Number.isNaN(obj.getTime())) return this.#bad('an invalid Date is not JSON')
      this.datePaths.push(this.#path())
      const iso = obj.toISOString()
      this.maxBytes += iso.length + 2
      return iso
    }
    if (this.#seen.has(obj)) return this.#bad('a circular reference is not JSON')
    if (this.#keys.length >= MAX_JSON_DEPTH) {
      return this.#bad(
        `input nested deeper than ${MAX_JSON_DEPTH} levels is refused; flatten it, or send the deep part as a string`,
      )
    }
    this.#seen.add(obj)
    try {
      return Array.isArray(obj) ? this.#array(obj) : this.#object(obj)
    } finally {
      this.#seen.delete(obj)
    }
  }

  #array(obj: unknown[]): unknown {
    const out: unknown[] = []
    this.maxBytes += 2 + obj.length // brackets and commas
    for (let i = 0; i < obj.length; i++) {
      this.#keys.push(i)
      // Holes and undefined both become null in JSON: refuse them rather than change the data.
      if (!(i in obj)) return this.#bad('an empty array slot is not JSON; use null')
      const item = this.walk(obj[i])
      if (this.problem) return undefined
      this.#keys.pop()
      out.push(item)
    }
    return out
  }

  #object(obj: object): unknown {
    const proto = Object.getPrototypeOf(obj) as unknown
    if (proto !== Object.prototype && proto !== null) {
      const kind = (obj.constructor as { name?: string } | undefined)?.name ?? 'object'
      return this.#bad(`a ${kind} instance is not plain JSON; send a plain object or array`)
    }
    const out: Record<string, unknown> = {}
    this.maxBytes += 2 // braces
    for (const key of Object.keys(obj)) {
      const child = (obj as Record<string, unknown>)[key]
      // JSON.stringify drops undefined properties; that is how optional fields are left out.
      if (child === undefined) continue
      this.#keys.push(key)
      const item = this.walk(child)
      if (this.problem) return undefined
      this.#keys.pop()
      setKey(out, key, item)
      this.maxBytes += key.length * MAX_CHAR_BYTES + 4 // quotes, colon, comma
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) {
      return this.#bad('symbol-keyed properties are not JSON')
    }
    return out
  }

  #path(): string {
    return this.root + this.#keys.map(formatKey).join('')
  }

  #bad(message: string): undefined {
    this.problem = { path: this.#path(), message }
    return undefined
  }
}

/**
 * A deep copy of a JSON value (as `checkJson` returns it): what `structuredClone` does, at a
 * fraction of its cost for the small objects that job inputs are.
 */
export function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(copyJson) as T
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    setKey(out, key, copyJson((value as Record<string, unknown>)[key]))
  }
  return out as T
}

/** `out[key] = value`, except that an own `__proto__` key (JSON.parse makes them) stays data. */
function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key !== '__proto__') out[key] = value
  else
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Formats one path segment: `.name` for identifiers, `[2]` for indexes, `["a b"]` otherwise. */
export function formatKey(key: PropertyKey): string {
  if (typeof key === 'number') return `[${key}]`
  if (typeof key === 'symbol') return `[${key.toString()}]`
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return `.${key}`
  if (/^\d+$/.test(key)) return `[${key}]`
  return `[${JSON.stringify(key)}]`
}
