import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH, checkJson, copyJson } from './json.js'

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8')

describe('checkJson', () => {
  it('refuses input nested deeper than MAX_JSON_DEPTH with its path, without overflowing the stack', () => {
    const nest = (depth: number): unknown => {
      let v: unknown = 1
      for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v]
      return v
    }
    expect(checkJson(nest(MAX_JSON_DEPTH)).problem).toBeUndefined()
    for (const depth of [MAX_JSON_DEPTH + 1, 10_000, 100_000]) {
      const { problem } = checkJson(nest(depth))
      expect(problem?.message).toContain(`deeper than ${MAX_JSON_DEPTH} levels`)
      // The path of the first value past the limit: 100 steps down from the root.
      expect(problem?.path).toMatch(new RegExp(`^input(\\[0\\]|\\.a){${MAX_JSON_DEPTH}}$`))
    }
    // A parsed body of the same shape (what a JSON route receives).
    const text = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)
    const { problem } = checkJson(JSON.parse(text))
    expect(problem?.message).toContain('deeper than')
    expect(problem?.path).toBe('input' + '.a'.repeat(MAX_JSON_DEPTH))
  })

  it('counts at least the UTF-8 bytes of the JSON form, however the strings escape', () => {
    const values: unknown[] = [
      null,
      true,
      0,
      -2.2250738585072014e-308,
      -1.7976931348623157e308,
      5e-324,
      '',
      'plain',
      '"quoted" \\ and \n\u0001 control',
      'éèà 日本語 emoji 😀',
      '\ud800 lone surrogate',
      { '"key"\n': 'v', nested: { deep: [1, [2, [3, { x: null }]]] } },
      [[], {}, [[]], { a: [] }],
      { at: new Date('2024-01-02T03:04:05.678Z'), list: Array.from({ length: 50 }, (_, i) => i) },
    ]
    for (const value of values) {
      const json = checkJson(value)
      expect(json.problem).toBeUndefined()
      expect(json.maxBytes).toBeGreaterThanOrEqual(bytes(json.value))
    }
  })

  it('names the JSON path of the offending value', () => {
    expect(checkJson({ items: [{ sku: 'a' }, { sku: 'b', at: NaN }] }).problem?.path).toBe(
      'input.items[1].at',
    )
    expect(checkJson({ 'a b': [1, undefined] }).problem?.path).toBe('input["a b"][1]')
    expect(checkJson({ 0: { f: () => 1 } }).problem?.path).toBe('input[0].f')
    const circular: Record<string, unknown> = { list: [] }
    ;(circular['list'] as unknown[]).push({ back: circular })
    expect(checkJson(circular).problem).toEqual({
      path: 'input.list[0].back',
      message: 'a circular reference is not JSON',
    })
    // eslint-disable-next-line no-sparse-arrays
    expect(checkJson({ ok: 1, holes: [1, , 3] }).problem?.path).toBe('input.holes[1]')
  })

  it('reports the paths of Dates, which it turns into ISO strings', () => {
    const at = new Date('2024-01-02T03:04:05.678Z')
    const json = checkJson({ a: at, list: [{ b: at }] })
    expect(json.datePaths).toEqual(['input.a', 'input.list[0].b'])
    expect(json.value).toEqual({ a: at.toISOString(), list: [{ b: at.toISOString() }] })
  })

  it('lets the same object appear twice when it is not circular', () => {
    const shared = { x: 1 }
    expect(checkJson({ a: shared, b: [shared] }).value).toEqual({ a: { x: 1 }, b: [{ x: 1 }] })
  })
})

describe('copyJson', () => {
  it('makes a deep copy that shares nothing with the original', () => {
    const original = { a: [1, { b: 'c' }], d: { e: null, f: true } }
    const copy = copyJson(original)
    expect(copy).toEqual(original)
    expect(copy.a).not.toBe(original.a)
    expect(copy.a[1]).not.toBe(original.a[1])
    expect(copy.d).not.toBe(original.d)
  })
})
