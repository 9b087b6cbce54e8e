import { AfterwardError, ErrorCode } from '../errors.js'

/**
 * The time a `testDriver()` schedules by: delays, retry backoff and held-back jobs are due at
 * `clock.now() + ms`, and only a test moves the clock. Tasks themselves still see real time
 * (`Date.now()`, their `timeout`).
 *
 * @example
 * const driver = testDriver()
 * await afterward.enqueue(reminder, { userId: 1 }, { delay: 60_000 })
 * await driver.runDue() // nothing is due yet
 * driver.clock.advance(60_000)
 * await driver.runDue() // the reminder runs
 */
export interface TestClock {
  /** The current test time, in ms since the epoch. */
  now(): number
  /** Moves the clock forward by `ms` (>= 0). */
  advance(ms: number): void
  /** Sets the clock to a time that is not earlier than now. */
  set(to: Date | number): void
}

export function createTestClock(start: Date | number = Date.now()): TestClock {
  let now = checkTime('testDriver({ now })', start)
  return {
    now: () => now,
    advance(ms) {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new AfterwardError(
          ErrorCode.CONFIG_INVALID,
          `clock.advance(ms): ms must be a finite number >= 0 (got ${String(ms)}).`,
        )
      }
      now += ms
    },
    set(to) {
      const next = checkTime('clock.set(to)', to)
      if (next < now) {
        throw new AfterwardError(
          ErrorCode.CONFIG_INVALID,
          `clock.set(to): the test clock only moves forward (now ${new Date(now).toISOString()}, got ${new Date(next).toISOString()}).`,
        )
      }
      now = next
    },
  }
}

function checkTime(where: string, value: Date | number): number {
  const ms = value instanceof Date ? value.getTime() : value
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `${where}: pass a valid Date or a number of ms since the epoch (got ${String(value)}).`,
    )
  }
  return ms
}
