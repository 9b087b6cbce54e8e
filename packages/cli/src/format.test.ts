import { describe, expect, it } from 'vitest'
import { duration, table, when, type Output } from './format.js'
import { parseSince } from './since.js'

const output: Output = {
  out() {},
  err() {},
  color: false,
  absolute: false,
  now: Date.UTC(2026, 0, 2),
}

describe('CLI formatting', () => {
  it('writes durations the way people read them', () => {
    expect([0, 999, 1_500, 12_400, 65_000, 3_725_000, 90_000_000, undefined].map(duration)).toEqual(
      ['0ms', '999ms', '1.5s', '12s', '1m 05s', '1h 02m', '1d 1h', '-'],
    )
  })

  it('writes times relative to now, or as ISO dates with --absolute', () => {
    const at = new Date(output.now - 120_000)
    expect(when(output, at)).toBe('2m 00s ago')
    expect(when(output, new Date(output.now + 5_000))).toBe('in 5.0s')
    expect(when({ ...output, absolute: true }, at)).toBe('2026-01-01T23:58:00.000Z')
    expect(when(output, undefined)).toBe('-')
  })

  it('aligns columns without trailing spaces', () => {
    expect(
      table(
        output,
        ['A', 'LONG'],
        [
          ['xyz', '1'],
          ['q', ''],
        ],
      ),
    ).toBe('A    LONG\nxyz  1\nq')
  })

  it('reads --since as a span back from now or an ISO date, and refuses anything else', () => {
    const now = Date.UTC(2026, 0, 2)
    expect(parseSince('90s', now)).toBe(now - 90_000)
    expect(parseSince('1.5h', now)).toBe(now - 5_400_000)
    expect(parseSince('7d', now)).toBe(now - 7 * 86_400_000)
    expect(parseSince('2026-01-01T00:00:00Z', now)).toBe(Date.UTC(2026, 0, 1))
    for (const bad of ['yesterday', '5', '1w', '-1h', '2026-13-45']) {
      expect(() => parseSince(bad, now)).toThrow(/--since .*: write a span such as 30s/)
    }
  })
})
