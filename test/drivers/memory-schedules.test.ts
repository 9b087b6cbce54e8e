// memory() runs schedules on timers of its own process: they must not outlive the driver.
import { describe, expect, it } from 'vitest'
import { createAfterward, defineTask, memory } from '@afterward/core'
import { deferred, instance, silentLogger } from '../support/afterward.js'

const timers = (): number =>
  process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length

describe('memory() schedules', () => {
  it('clears its timers on close: no planned run keeps the process alive', async () => {
    const before = timers()
    const tasks = [
      defineTask({ name: 'hourly', schedule: { cron: '0 * * * *' }, run: () => undefined }),
      defineTask({ name: 'minutely', schedule: { every: 60_000 }, run: () => undefined }),
    ]
    const driver = memory()
    const afterward = createAfterward({ tasks, driver, logger: silentLogger })
    await afterward.schedules.sync()
    // The cron run waits for its time; an `every` schedule's first run is due at once.
    const planned = (await afterward.jobs.list()).jobs.map((j) => `${j.task} ${j.state}`)
    expect(planned.sort()).toEqual(['hourly delayed', 'minutely waiting'])
    expect(timers()).toBeGreaterThanOrEqual(before + 1)
    await afterward.close()
    expect(timers()).toBe(before)
  })

  it("retries a failed run even while the next tick's run is going (overlap skips first attempts only)", async () => {
    const retried = deferred()
    const seen: string[] = []
    const task = defineTask({
      name: 'flaky',
      retry: { attempts: 2, backoff: { type: 'fixed', delay: 1_500, jitter: 0 } },
      schedule: { every: 1_000 },
      async run(_input: void, ctx) {
        const { tick } = ctx.job.schedule!
        seen.push(`${tick.getTime()} attempt ${ctx.job.attempt}`)
        if (seen.length === 1) throw new Error('first tick, first attempt fails')
        if (ctx.job.attempt === 2) return retried.resolve()
        await retried.promise // the next tick's run holds until the retry ran
      },
    })
    const afterward = instance({ tasks: [task], driver: memory() })
    await afterward.worker({ concurrency: 2 }).start()
    await retried.promise
    const first = Number(seen[0]!.split(' ')[0])
    expect(seen).toEqual([`${first} attempt 1`, `${first + 1_000} attempt 1`, `${first} attempt 2`])
  })
})
