// Schedules, run against every driver that has a scheduler: each run is an ordinary job carrying
// its schedule and tick; the code is reconciled into the broker (and older code cannot undo newer
// code); a tick missed while no worker runs gives one late run, never a burst; overlapping runs
// are skipped unless the schedule allows them.
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineTask, type Afterward, type Driver } from '../index.js'
import { closeInstances, deferred, instance } from './support.js'

/** Options of {@link scheduleConformance}. */
export interface ScheduleConformanceOptions {
  /** Names the suite in the report: `schedules: <name>`. */
  name: string
  /**
   * Returns a driver factory whose drivers share one fresh broker namespace (the same prefix or
   * schema; for an in-process driver, the same driver), as the processes of one deployment do.
   * Each call must return a namespace no other test uses.
   */
  makeNamespace: () => () => Driver
  /**
   * Another application's job scheduler in the namespace's `default` queue, to prove that
   * reconciling never removes it. @defaultValue none (that test is skipped)
   */
  foreign?: {
    create(driver: Driver): Promise<void>
    exists(driver: Driver): Promise<boolean>
  }
}

/**
 * Registers the schedule conformance suite with vitest (about 10 s of schedules ticking every
 * second). Call it at the top level of a test file, for a driver that has a `scheduler`.
 *
 * @example
 * scheduleConformance({
 *   name: 'my driver',
 *   makeNamespace: () => {
 *     const prefix = randomUUID()
 *     return () => myDriver({ prefix })
 *   },
 * })
 */
export function scheduleConformance({
  name,
  makeNamespace: namespace,
  foreign,
}: ScheduleConformanceOptions): void {
  describe(`schedules: ${name}`, () => {
    afterEach(closeInstances)
    it('runs each tick as an ordinary job: ctx.job.schedule, retries, events, jobs.get, schedules.list', async () => {
      const runs: { jobId: string; id: string; tick: number; attempt: number; input: unknown }[] =
        []
      const second = deferred()
      const pull = defineTask({
        name: 'pull-config',
        input: z.object({ source: z.string() }),
        retry: { attempts: 2, backoff: { type: 'fixed', delay: 10, jitter: 0 } },
        schedule: { every: 1_000, input: { source: 'remote' } },
        run(input, ctx) {
          const { schedule } = ctx.job
          runs.push({
            jobId: ctx.job.id,
            ...schedule!,
            tick: schedule!.tick.getTime(),
            attempt: ctx.job.attempt,
            input,
          })
          if (runs.length === 1) throw new Error('first attempt fails')
          if (runs.filter((r) => r.attempt === 1).length === 2) second.resolve()
        },
      })
      const afterward = instance({ tasks: [pull], driver: namespace()() })
      const events: string[] = []
      afterward.on('started', (e) => void events.push(`started ${e.jobId} ${e.attempt}`))
      afterward.on('completed', (e) => void events.push(`completed ${e.jobId}`))
      await afterward.worker().start()
      await second.promise
      const [first, retry, next] = runs
      // The first tick failed once and was retried as the same job, for the same tick.
      expect(retry).toMatchObject({ jobId: first!.jobId, tick: first!.tick, attempt: 2 })
      expect(next!.tick - first!.tick).toBe(1_000)
      expect(runs.map((r) => r.input)).toEqual(runs.map(() => ({ source: 'remote' })))
      expect(runs.map((r) => r.id)).toEqual(runs.map(() => 'default'))
      const done = await afterward.jobs.wait(next!.jobId)
      expect(done).toMatchObject({
        state: 'completed',
        task: 'pull-config',
        input: { source: 'remote' },
      })
      expect(done.schedule).toEqual({ id: 'default', tick: new Date(next!.tick) })
      expect(events).toEqual(
        expect.arrayContaining([
          `started ${first!.jobId} 1`,
          `started ${first!.jobId} 2`,
          `completed ${first!.jobId}`,
          `started ${next!.jobId} 1`,
        ]),
      )
      const [listed, ...others] = await afterward.schedules.list()
      expect(others).toEqual([])
      expect(listed).toMatchObject({
        key: 'pull-config:default',
        id: 'default',
        task: 'pull-config',
        queue: 'default',
        every: 1_000,
        cron: undefined,
        overlap: 'skip',
      })
      expect(listed!.nextRunAt!.getTime()).toBeGreaterThan(next!.tick)
      expect(listed!.lastRun?.jobId).toBeDefined()
      expect(listed!.lastRun!.tick.getTime()).toBeGreaterThanOrEqual(next!.tick)
      expect(['active', 'completed']).toContain(listed!.lastRun!.state)
    })

    it('plans a cron schedule at local wall time in its time zone', async () => {
      const report = defineTask({
        name: 'nightly-report',
        schedule: { cron: '0 3 * * *', tz: 'Europe/Berlin' },
        run: () => undefined,
      })
      const afterward = instance({ tasks: [report], driver: namespace()() })
      await afterward.schedules.sync()
      const [listed] = await afterward.schedules.list()
      expect(listed).toMatchObject({ cron: '0 3 * * *', tz: 'Europe/Berlin', every: undefined })
      const next = listed!.nextRunAt!
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(next)
      expect(local).toBe('03:00')
      expect(next.getTime() - Date.now()).toBeGreaterThan(0)
      expect(next.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3_600_000 + 3_600_000)
    })

    it('reconciles the code: creates, updates, removes; an older instance cannot undo it', async () => {
      const shared = namespace()
      const v1 = [
        defineTask({
          name: 'digest',
          schedule: { every: 3_600_000, input: 'daily' },
          run: (_: string) => undefined,
        }),
        defineTask({ name: 'cleanup', schedule: { cron: '0 * * * *' }, run: () => undefined }),
      ]
      const v2 = [
        defineTask({
          name: 'digest',
          schedule: { every: 3_600_000, input: 'weekly' },
          run: (_: string) => undefined,
        }),
        defineTask({
          name: 'audit',
          schedule: [
            { id: 'morning', cron: '0 8 * * *', tz: 'America/New_York' },
            { id: 'evening', cron: '0 20 * * *', tz: 'America/New_York' },
          ],
          run: () => undefined,
        }),
      ]
      const old = instance({ tasks: v1, driver: shared() })
      expect(await old.schedules.sync()).toMatchObject({
        created: ['cleanup:default', 'digest:default'],
        updated: [],
        removed: [],
        stale: false,
      })
      const keys = async (a: Afterward) => (await a.schedules.list()).map((s) => s.key).sort()
      expect(await keys(old)).toEqual(['cleanup:default', 'digest:default'])
      const digestRuns = async (a: Afterward) =>
        (await a.jobs.list({ task: 'digest' })).jobs.map((j) => ({
          input: j.input,
          tick: j.schedule?.tick.getTime(),
        }))
      const [planned, ...more] = await digestRuns(old)
      expect(more).toEqual([])
      expect(planned).toMatchObject({ input: 'daily' })

      const next = instance({ tasks: v2, driver: shared() })
      expect(await next.schedules.sync()).toMatchObject({
        created: ['audit:evening', 'audit:morning'],
        updated: ['digest:default'],
        removed: ['cleanup:default'],
        unchanged: [],
        stale: false,
      })
      expect(await keys(old)).toEqual(['audit:evening', 'audit:morning', 'digest:default'])
      // The changed schedule's planned run was replaced; an unchanged interval keeps its tick.
      expect(await digestRuns(next)).toEqual([{ input: 'weekly', tick: planned!.tick }])

      // A worker of the old release starting during a rolling deploy changes nothing.
      await old.worker().start()
      expect(await old.schedules.sync()).toMatchObject({ created: [], removed: [], stale: true })
      expect(await keys(next)).toEqual(['audit:evening', 'audit:morning', 'digest:default'])
      expect(await next.schedules.sync()).toMatchObject({
        unchanged: ['audit:evening', 'audit:morning', 'digest:default'],
        stale: false,
      })

      // A rollback says so.
      expect(await old.schedules.sync({ force: true })).toMatchObject({
        created: ['cleanup:default'],
        updated: ['digest:default'],
        removed: ['audit:evening', 'audit:morning'],
        stale: false,
      })
      expect(await keys(next)).toEqual(['cleanup:default', 'digest:default'])
    })

    it('leaves one schedule per id when instances with the same code start at once', async () => {
      const shared = namespace()
      const tasks = [
        defineTask({ name: 'tick', schedule: { cron: '*/5 * * * *' }, run: () => undefined }),
      ]
      const instances = Array.from({ length: 3 }, () => instance({ tasks, driver: shared() }))
      await Promise.all(instances.map((a) => a.worker().start()))
      const listed = await instances[0]!.schedules.list()
      expect(listed.map((s) => s.key)).toEqual(['tick:default'])
      const planned = await instances[0]!.jobs.list({ task: 'tick' })
      expect(planned.jobs.map((j) => j.state)).toEqual(['delayed'])
    })

    it('gives one late run for ticks missed while no worker ran, never a burst', async () => {
      const runs: number[] = []
      const caughtUp = deferred()
      const task = defineTask({
        name: 'poll',
        schedule: { every: 1_000 },
        run(_input: void, ctx) {
          runs.push(ctx.job.schedule!.tick.getTime())
          if (runs.length === 2) caughtUp.resolve()
        },
      })
      const afterward = instance({ tasks: [task], driver: namespace()() })
      await afterward.schedules.sync()
      // No worker for 2.5 s: the ticks due in that time are missed.
      await new Promise((resolve) => setTimeout(resolve, 2_500))
      const started = Date.now()
      await afterward.worker().start()
      await caughtUp.promise
      const [late, next] = runs as [number, number]
      expect(late).toBeLessThan(started - 2_000)
      expect(next).toBeGreaterThan(started)
      expect(next - late).toBeGreaterThanOrEqual(3_000)
    })

    for (const overlap of ['skip', 'allow'] as const) {
      it(`${overlap === 'skip' ? 'skips a tick (default)' : "runs a tick (overlap: 'allow')"} while the previous run is still going`, async () => {
        const release = deferred()
        const ticks: number[] = []
        const firstRunning = deferred()
        const secondRunning = deferred()
        const task = defineTask({
          name: 'slow',
          schedule: overlap === 'skip' ? { every: 1_000 } : { every: 1_000, overlap },
          async run(_input: void, ctx) {
            ticks.push(ctx.job.schedule!.tick.getTime())
            if (ticks.length === 1) {
              firstRunning.resolve()
              await release.promise
            } else secondRunning.resolve()
          },
        })
        const afterward = instance({ tasks: [task], driver: namespace()() })
        await afterward.worker({ concurrency: 2 }).start()
        await firstRunning.promise
        const secondId = `repeat:slow:default:${ticks[0]! + 1_000}`
        if (overlap === 'skip') {
          // The next tick's job completes without running the task.
          expect(await afterward.jobs.wait(secondId, { timeout: 10_000 })).toMatchObject({
            state: 'completed',
          })
          expect(ticks).toHaveLength(1)
        } else {
          await secondRunning.promise
          expect(ticks).toEqual([ticks[0], ticks[0]! + 1_000])
        }
        release.resolve()
      })
    }

    if (foreign) {
      it("never removes another application's job scheduler", async () => {
        const shared = namespace()
        const driver = shared()
        await foreign.create(driver)
        const task = defineTask({ name: 'mine', schedule: { every: 60_000 }, run: () => undefined })
        const afterward = instance({ tasks: [task], driver })
        expect(await afterward.schedules.sync()).toMatchObject({
          created: ['mine:default'],
          removed: [],
        })
        const empty = instance({ tasks: [], driver: shared() })
        expect(await empty.schedules.sync()).toMatchObject({ removed: ['mine:default'] })
        expect(await foreign.exists(driver)).toBe(true)
        expect(await afterward.schedules.list()).toEqual([])
      })
    }
  })
}
