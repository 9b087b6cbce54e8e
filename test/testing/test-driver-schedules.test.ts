// testDriver() runs schedules on its test clock: runUntil()/runFor() let time pass with a worker
// up (one run per tick), a jump of the clock gives one late run as the real drivers do, runAll()
// never chases ticks, and scheduled runs go through the real worker (retries, ctx.job.schedule).
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ErrorCode, defineTask, type ScheduleOptions } from '@afterward/core'
import { testDriver } from '@afterward/core/testing'
import { instance } from '../support/afterward.js'

const MINUTE = 60_000
const T0 = new Date('2030-01-01T00:00:00Z').getTime()

/** A task on `schedule` that records the tick (relative to T0) and attempt of each run. */
function recording(schedule: ScheduleOptions<void>) {
  const runs: { tick: number; attempt: number; id: string }[] = []
  const task = defineTask({
    name: 'poll',
    schedule,
    run(_input: void, ctx) {
      runs.push({
        tick: ctx.job.schedule!.tick.getTime() - T0,
        attempt: ctx.job.attempt,
        id: ctx.job.schedule!.id,
      })
    },
  })
  return { task, runs, ticks: () => runs.map((r) => r.tick / MINUTE) }
}

describe('testDriver schedules', () => {
  it('runs an every schedule once per tick as the test moves the clock, each run recorded with its tick', async () => {
    const { task, runs, ticks } = recording({ every: MINUTE })
    const driver = testDriver({ now: T0 })
    const afterward = instance({ tasks: [task], driver })
    await afterward.worker().start()
    // As on BullMQ, an every schedule's first run is due at once.
    expect(await driver.runDue()).toMatchObject([
      { task: 'poll', state: 'completed', schedule: { id: 'default', tick: new Date(T0) } },
    ])
    expect(await driver.runDue()).toEqual([])
    driver.clock.advance(MINUTE - 1)
    expect(await driver.runDue()).toEqual([])
    driver.clock.advance(1)
    await driver.runDue()
    expect(ticks()).toEqual([0, 1])

    // Time passing with a worker up: every tick runs, once, on its own time.
    const finished = await driver.runFor(3 * MINUTE)
    expect(finished.map((j) => (j.schedule!.tick.getTime() - T0) / MINUTE)).toEqual([2, 3, 4])
    expect(ticks()).toEqual([0, 1, 2, 3, 4])
    expect(runs.every((r) => r.attempt === 1 && r.id === 'default')).toBe(true)
    expect(driver.clock.now()).toBe(T0 + 4 * MINUTE)
    expect(driver.jobs({ task })).toHaveLength(5)
    const [listed] = await afterward.schedules.list()
    expect(listed).toMatchObject({ key: 'poll:default', nextRunAt: new Date(T0 + 5 * MINUTE) })
    expect(listed!.lastRun).toMatchObject({ tick: new Date(T0 + 4 * MINUTE), state: 'completed' })
  })

  it('gives one late run for ticks the clock jumped over, never a burst, then goes on aligned', async () => {
    const { task, ticks } = recording({ every: MINUTE })
    const driver = testDriver({ now: T0 })
    const afterward = instance({ tasks: [task], driver })
    await afterward.worker().start()
    await driver.runDue()
    driver.clock.advance(10 * MINUTE + 30_000) // as if no worker ran for ten minutes
    const late = await driver.runDue()
    expect(late).toHaveLength(1)
    expect(ticks()).toEqual([0, 1]) // the tick planned before the gap, run late
    const [listed] = await afterward.schedules.list()
    expect(listed!.nextRunAt).toEqual(new Date(T0 + 11 * MINUTE))
    await driver.runUntil(T0 + 11 * MINUTE)
    expect(ticks()).toEqual([0, 1, 11])
  })

  it('runs a cron schedule at local wall time in its time zone, across a DST change', async () => {
    const runs: string[] = []
    const report = defineTask({
      name: 'nightly-report',
      input: z.object({ format: z.string() }),
      schedule: { cron: '0 3 * * *', tz: 'Europe/Berlin', input: { format: 'pdf' } },
      run: (input, ctx) =>
        void runs.push(`${ctx.job.schedule!.tick.toISOString()} ${input.format}`),
    })
    const driver = testDriver({ now: new Date('2030-03-29T12:00:00Z') })
    const afterward = instance({ tasks: [report], driver })
    await afterward.worker().start()
    expect(await driver.runDue()).toEqual([])
    expect(driver.jobs()).toEqual([]) // the planned run is not listed before its tick
    await driver.runUntil(new Date('2030-03-31T12:00:00Z'))
    // 03:00 in Berlin: CET (UTC+1) until 31 March 2030 02:00, CEST (UTC+2) after.
    expect(runs).toEqual(['2030-03-30T02:00:00.000Z pdf', '2030-03-31T01:00:00.000Z pdf'])
    expect(driver.jobs({ task: report }).map((j) => j.schedule?.tick)).toEqual([
      new Date('2030-03-30T02:00:00Z'),
      new Date('2030-03-31T01:00:00Z'),
    ])
    driver.clock.set(new Date('2030-04-01T01:00:00Z'))
    await driver.runDue()
    expect(runs).toHaveLength(3)
  })

  it('retries a failed scheduled run on the test clock, as the same job for the same tick', async () => {
    const attempts: string[] = []
    const sync = defineTask({
      name: 'sync-crm',
      retry: { attempts: 3, backoff: { type: 'fixed', delay: 20_000, jitter: 0 } },
      schedule: { every: MINUTE },
      run(_input: void, ctx) {
        const tick = (ctx.job.schedule!.tick.getTime() - T0) / 1_000
        attempts.push(
          `tick ${tick}s attempt ${ctx.job.attempt} at ${(driver.clock.now() - T0) / 1_000}s`,
        )
        if (tick === 0 && ctx.job.attempt < 3) throw new Error('CRM unreachable')
      },
    })
    const driver = testDriver({ now: T0 })
    const afterward = instance({ tasks: [sync], driver })
    await afterward.worker().start()
    await driver.runFor(MINUTE)
    expect(attempts).toEqual([
      'tick 0s attempt 1 at 0s',
      'tick 0s attempt 2 at 20s',
      'tick 0s attempt 3 at 40s',
      'tick 60s attempt 1 at 60s',
    ])
    expect(driver.jobs({ task: sync })).toMatchObject([
      { state: 'completed', attemptsMade: 3, lastError: { message: 'CRM unreachable' } },
      { state: 'completed', attemptsMade: 1 },
    ])
  })

  it('runAll() runs deferred jobs without chasing ticks; a tick passed on the way runs once', async () => {
    const { task, ticks } = recording({ every: MINUTE })
    const remind = defineTask({ name: 'remind', run: () => undefined })
    const driver = testDriver({ now: T0 })
    const afterward = instance({ tasks: [task, remind], driver })
    await afterward.worker().start()
    await afterward.enqueue(remind, undefined, { delay: 10 * MINUTE })
    const finished = await driver.runAll()
    expect(finished.map((j) => j.task)).toEqual(['poll', 'poll', 'remind'])
    expect(ticks()).toEqual([0, 1])
    expect(driver.clock.now()).toBe(T0 + 10 * MINUTE)
    expect(await driver.runAll()).toEqual([]) // the next tick is ahead: nothing to do
  })

  it('the assertions leave scheduled runs out, and clear() keeps schedules going', async () => {
    const { task, ticks } = recording({ every: MINUTE })
    const driver = testDriver({ now: T0 })
    const afterward = instance({ tasks: [task], driver })
    await afterward.worker().start()
    driver.clear() // as in a beforeEach: the schedule's first run stays
    expect(driver.jobs()).toMatchObject([{ task: 'poll', state: 'waiting' }])
    driver.assertNothingDeferred() // a schedule's run is not a defer
    expect(() => driver.assertDeferred(task)).toThrow(/Expected 'poll' to be deferred/)
    await driver.runDue()
    driver.clear()
    expect(driver.jobs()).toEqual([])
    await driver.runFor(MINUTE)
    expect(ticks()).toEqual([0, 1])
  })

  it('refuses to run until a time before the clock', async () => {
    const driver = testDriver({ now: T0 })
    await expect(driver.runUntil(T0 - 1)).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringMatching(/runUntil\(to\).*not before the test clock/),
    })
    await expect(driver.runFor(-1)).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID })
    await expect(driver.runUntil(new Date(Number.NaN))).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
    })
  })
})
