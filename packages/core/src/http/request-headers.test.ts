import { describe, expect, it } from 'vitest'
import { requestIdFrom, traceFrom } from './request-headers.js'

const UUID = /^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/

describe('requestIdFrom', () => {
  it.each(['req-1', 'Ab_9.z:0-x', 'r'.repeat(200)])('keeps %j', (id) => {
    expect(requestIdFrom(id)).toBe(id)
  })

  // Newlines never reach an adapter over HTTP (Node answers 400), but a header can come from
  // elsewhere (a proxy's own object, a test): they would forge log lines.
  it.each([
    ['a newline', 'req-1\n{"level":50}'],
    ['a carriage return', 'req-1\rx'],
    ['a space', 'req 1'],
    ['nothing', ''],
    ['201 characters', 'r'.repeat(201)],
    ['several values', ['req-1', 'req-2']],
    ['no header', undefined],
  ])('replaces a value with %s by a new UUID', (_label, header) => {
    expect(requestIdFrom(header)).toMatch(UUID)
  })
})

describe('traceFrom', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

  it('carries traceparent and tracestate', () => {
    expect(traceFrom({ traceparent, tracestate: 'congo=t61rcWkgMzE' })).toEqual({
      traceparent,
      tracestate: 'congo=t61rcWkgMzE',
    })
    expect(traceFrom({ traceparent })).toEqual({ traceparent })
  })

  it('keeps the fields a later version appends', () => {
    const later = '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'
    expect(traceFrom({ traceparent: later })).toEqual({ traceparent: later })
  })

  it.each([
    ['version ff', traceparent.replace(/^00/, 'ff')],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['upper-case hex', traceparent.toUpperCase()],
    ['a short trace id', '00-4bf92f35-00f067aa0ba902b7-01'],
    ['two values joined by a proxy', `${traceparent}, ${traceparent}`],
  ])('drops a traceparent with %s, and its tracestate', (_label, bad) => {
    expect(traceFrom({ traceparent: bad, tracestate: 'congo=t61rcWkgMzE' })).toBeUndefined()
  })

  it('drops a tracestate longer than 512 characters', () => {
    expect(traceFrom({ traceparent, tracestate: `a=${'b'.repeat(511)}` })).toEqual({
      traceparent,
    })
  })
})
