import { UsageError } from './usage-error.js'

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * `--since`: a span back from now (`30s`, `15m`, `1h`, `7d`) or an ISO date
 * (`2026-11-26T10:00:00Z`); returns the time it means, in ms since the epoch.
 */
export function parseSince(value: string, now: number): number {
  const span = /^(\d+(?:\.\d+)?)([smhd])$/.exec(value.trim())
  if (span) return now - Number(span[1]) * UNIT_MS[span[2]!]!
  const date = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN
  if (Number.isNaN(date)) {
    throw new UsageError(
      `--since ${value}: write a span such as 30s, 15m, 1h or 7d, or an ISO date such as 2026-11-26T10:00:00Z.`,
    )
  }
  return date
}
