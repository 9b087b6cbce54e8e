// memory() only: drain(), the test helper that waits until nothing is pending or running.
import { describe, expect, it } from 'vitest'
import { defineTask, memory } from '@afterward/core'
import { instance } from '../support/afterward.js'

describe('memory().drain()', () => {
  it('resolves once every job, retries and delays included, has finished', async () => {
    const runs: number[] = []
    const task = defineTask({
      name: 'drained',
      retry: { attempts: 2, backoff: { type: 'fixed', delay: 30, jitter: 0 } },
      run(input: number, ctx) {
        runs.push(input)
        if (input === 1 && ctx.job.attempt === 1) throw new Error('first attempt fails')
      },
    })
    const driver = memory()
    const afterward = instance({ tasks: [task], driver })
    await afterward.worker().start()
    const ids = [
      (await afterward.enqueue(task, 1)).id,
      (await afterward.enqueue(task, 2, { delay: 50 })).id,
    ]
    await driver.drain()
    const states = await Promise.all(ids.map(async (id) => (await afterward.jobs.get(id))?.state))
    expect(states).toEqual(['completed', 'completed'])
    expect(runs.sort()).toEqual([1, 1, 2])
  })

  it('refuses at once when jobs wait in a queue no started worker takes', async () => {
    const task = defineTask({ name: 'orphan', run: () => undefined })
    const driver = memory()
    const afterward = instance({ tasks: [task], driver })
    await afterward.enqueue(task)
    await expect(driver.drain()).rejects.toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
  })
})
