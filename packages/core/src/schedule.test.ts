// Schedule definitions: what defineTask and createAfterward refuse, and the tick arithmetic the
// drivers share (cron-parser's next dates across DST changes, BullMQ's `every` catch-up).
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createAfterward } from './afterward.js'
import { memory } from './drivers/memory.js'
import { AfterwardError, ErrorCode } from './errors.js'
import { nextCronTick, nextEveryTick } from './schedule.js'
import { defineTask } from './task.js'
import type { Driver } from './driver.js'
import { pino } from 'pino'

const silent = pino({ level: 'silent' })

const run = (): undefined => undefined

function refusal(define: () => unknown): AfterwardError {
  try {
    define()
  } catch (err) {
    expect(err).toBeInstanceOf(AfterwardError)
    expect((err as AfterwardError).code).toBe(ErrorCode.SCHEDULE_INVALID)
    return err as AfterwardError
  }
  throw new Error('expected AFTERWARD_SCHEDULE_INVALID')
}

describe('defineTask({ schedule }) refuses bad schedules with AFTERWARD_SCHEDULE_INVALID', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'an invalid cron expression',
      { cron: '61 * * * *' },
      /'nightly' schedule 'default': invalid cron expression '61 \* \* \* \*'.*0-59/,
    ],
    [
      'a cron expression with too many fields',
      { cron: '* * * * * * *' },
      /invalid cron expression.*too many fields/,
    ],
    [
      'an unknown time zone',
      { cron: '0 3 * * *', tz: 'Mars/Olympus' },
      /unknown time zone "Mars\/Olympus"/,
    ],
    ['every under one second', { every: 999 }, /every must be .* at least 1000 \(got 999\)/],
    ['every that is not a whole number', { every: 1500.5 }, /every must be a whole number/],
    ['both cron and every', { cron: '* * * * *', every: 60_000 }, /exactly one of cron/],
    ['neither cron nor every', { tz: 'UTC' }, /exactly one of cron/],
    ['tz with every', { every: 60_000, tz: 'UTC' }, /tz applies to cron schedules only/],
    ['an unknown option', { cron: '* * * * *', timezone: 'UTC' }, /unknown option 'timezone'/],
    ['a bad overlap', { every: 60_000, overlap: 'queue' }, /overlap must be 'skip' or 'allow'/],
    ['a bad id', { id: 'a b', every: 60_000 }, /schedule 'a b': the id must be/],
    [
      'an input that is not JSON',
      { every: 60_000, input: { at: new Map() } },
      /input is not plain JSON at input.at/,
    ],
  ]
  it.each(cases)('%s', (_label, schedule, message) => {
    const error = refusal(() => defineTask({ name: 'nightly', schedule: schedule as never, run }))
    expect(error.message).toMatch(/^Task 'nightly'/)
    expect(error.message).toMatch(message)
  })

  it('a duplicate id, and a missing id among several schedules', () => {
    const twice = refusal(() =>
      defineTask({
        name: 'report',
        schedule: [
          { id: 'am', cron: '0 8 * * *' },
          { id: 'am', cron: '0 20 * * *' },
        ],
        run,
      }),
    )
    expect(twice.message).toBe(
      "Task 'report' schedule 'am': this id is used twice; give each schedule its own id.",
    )
    const unnamed = refusal(() =>
      defineTask({
        name: 'report',
        schedule: [{ id: 'am', cron: '0 8 * * *' }, { cron: '0 20 * * *' }],
        run,
      }),
    )
    expect(unnamed.message).toMatch(/schedule\[1\] needs an id/)
  })

  it("an input that fails the task's schema, naming the path", () => {
    const error = refusal(() =>
      defineTask({
        name: 'digest',
        input: z.object({ period: z.enum(['daily', 'weekly']) }),
        schedule: { id: 'daily', cron: '0 7 * * *', input: { period: 'hourly' as 'daily' } },
        run,
      }),
    )
    expect(error.message).toMatch(
      /^Task 'digest' schedule 'daily': input fails the task's schema at input.period: /,
    )
  })

  it('accepts good schedules and fills in the defaults', () => {
    const task = defineTask({
      name: 'digest',
      input: z.object({ period: z.enum(['daily', 'weekly']) }),
      schedule: [
        { id: 'daily', cron: '0 7 * * *', tz: 'Europe/Berlin', input: { period: 'daily' } },
        { id: 'weekly', every: 7 * 24 * 3_600_000, input: { period: 'weekly' }, overlap: 'allow' },
      ],
      run,
    })
    expect(task.schedules).toEqual([
      {
        id: 'daily',
        cron: '0 7 * * *',
        every: undefined,
        tz: 'Europe/Berlin',
        input: { period: 'daily' },
        overlap: 'skip',
      },
      {
        id: 'weekly',
        cron: undefined,
        every: 604_800_000,
        tz: undefined,
        input: { period: 'weekly' },
        overlap: 'allow',
      },
    ])
    expect(
      defineTask({ name: 'utc', schedule: { cron: '0 3 * * *' }, run }).schedules[0],
    ).toMatchObject({
      id: 'default',
      tz: 'UTC',
      input: null,
    })
  })
})

describe('createAfterward with schedules', () => {
  it('refuses a schedule input over maxInputBytes with AFTERWARD_SCHEDULE_INVALID', () => {
    const task = defineTask({
      name: 'big',
      schedule: { every: 60_000, input: 'x'.repeat(200) },
      run: (_: string) => undefined,
    })
    const error = refusal(() =>
      createAfterward({ tasks: [task], driver: memory(), maxInputBytes: 100 }),
    )
    expect(error.message).toMatch(
      /^Task 'big' schedule 'default': its input is 202 bytes as JSON, over the 100-byte limit/,
    )
  })

  it('on a driver without a scheduler, schedules.sync() and list() reject with AFTERWARD_CONFIG_INVALID', async () => {
    const { scheduler: _none, ...rest } = memory()
    const task = defineTask({ name: 'tick', schedule: { every: 60_000 }, run })
    // The instance itself works (a test driver runs the task when a test defers it).
    const afterward = createAfterward({ tasks: [task], driver: rest as Driver, logger: silent })
    const refused = expect.objectContaining({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringMatching(/cannot run schedules/),
    })
    await expect(afterward.schedules.sync()).rejects.toEqual(refused)
    await expect(afterward.schedules.list()).rejects.toEqual(refused)
    await afterward.close()
  })
})

describe('ticks', () => {
  const iso = (ms: number): string => new Date(ms).toISOString()

  it('a cron schedule with tz fires at local wall time across both DST changes', () => {
    // Europe/Berlin: CET (UTC+1) until 2026-03-29 02:00, CEST (UTC+2) until 2026-10-25 03:00.
    const ticks = (from: string, n: number, cron = '0 3 * * *'): string[] => {
      const out: string[] = []
      let at = Date.parse(from)
      for (let i = 0; i < n; i++) out.push(iso((at = nextCronTick(cron, 'Europe/Berlin', at))))
      return out
    }
    expect(ticks('2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T02:00:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T01:00:00.000Z',
    ])
    expect(ticks('2026-10-23T12:00:00Z', 3)).toEqual([
      '2026-10-24T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-26T02:00:00.000Z',
    ])
    // 02:30 does not exist on the spring-forward night: that day's run is at 03:30 local.
    expect(ticks('2026-03-28T12:00:00Z', 2, '30 2 * * *')).toEqual([
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ])
    // 02:30 happens twice on the fall-back night: it runs once.
    expect(ticks('2026-10-24T12:00:00Z', 2, '30 2 * * *')).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ])
  })

  it('a cron schedule without tz is read in UTC', () => {
    expect(iso(nextCronTick('0 3 * * *', 'UTC', Date.parse('2026-03-28T12:00:00Z')))).toBe(
      '2026-03-29T03:00:00.000Z',
    )
  })

  it('every: first at once, then every interval; after missed ticks the next aligned slot, not a burst', () => {
    expect(nextEveryTick(undefined, 1_000, 5_250)).toBe(5_250)
    expect(nextEveryTick(5_250, 1_000, 5_400)).toBe(6_250)
    // Ticks 6_250 .. 9_250 were missed: the next is the first slot after now, on the same offset.
    expect(nextEveryTick(5_250, 1_000, 9_900)).toBe(10_250)
    expect(nextEveryTick(5_250, 1_000, 10_250)).toBe(11_250)
  })
})
