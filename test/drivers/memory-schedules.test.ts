// memory() runs schedules on timers of its own process: they must not outlive the driver.
import { describe, expect, it } from 'vitest'
import { createAfterward, defineTask, memory } from '@afterward/core'
import { silentLogger } from '../support/afterward.js'

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
})
