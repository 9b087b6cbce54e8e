import { describe, expect, it } from 'vitest'
import { backoffDelay, resolveOptions } from './options.js'

describe('resolveOptions', () => {
  it('merges retry and backoff field by field, most specific level first', () => {
    const resolved = resolveOptions([
      { retry: { backoff: { delay: 50 } } }, // call site
      { retry: { attempts: 4 } }, // route
      { retry: { attempts: 2, backoff: { type: 'fixed', jitter: 0 } } }, // task
    ])
    expect(resolved.attempts).toBe(4)
    expect(resolved.backoff).toEqual({ type: 'fixed', delay: 50, jitter: 0 })
  })

  it('falls back to the built-in defaults', () => {
    expect(resolveOptions([])).toMatchObject({
      attempts: 1,
      backoff: { type: 'exponential', delay: 1_000, jitter: 0.2 },
      priority: 'normal',
      queue: 'default',
      delay: 0,
      timeout: undefined,
      key: undefined,
    })
  })

  it('turns a Date delay into ms from now, never negative', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(resolveOptions([{ delay: new Date(now + 1_500) }], now).delay).toBe(1_500)
    expect(resolveOptions([{ delay: new Date(now - 1_500) }], now).delay).toBe(0)
  })
})

describe('backoffDelay', () => {
  it('doubles an exponential delay per attempt and keeps a fixed one', () => {
    const exp = { type: 'exponential', delay: 100, jitter: 0 } as const
    expect([1, 2, 3, 4].map((a) => backoffDelay(exp, a))).toEqual([100, 200, 400, 800])
    expect(backoffDelay({ type: 'fixed', delay: 100, jitter: 0 }, 5)).toBe(100)
  })

  it('jitter only shortens the wait, by at most its fraction', () => {
    const b = { type: 'fixed', delay: 1_000, jitter: 0.25 } as const
    expect(backoffDelay(b, 1, () => 0)).toBe(1_000)
    expect(backoffDelay(b, 1, () => 0.999999)).toBe(750)
  })
})
