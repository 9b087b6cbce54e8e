// Retention of finished jobs on the bullmq() driver (Redis and PostgreSQL): the workers apply
// keepCompleted and keepFailed as each job finishes, the jobs themselves carry no such option.
import { describe, expect, it } from 'vitest'
import { PermanentError, defineTask, type Driver } from '@afterward/core'
import { instance } from '../support/afterward.js'

type Keep = { count: number }

export function retentionSuite(
  name: string,
  makeDriver: (keep: { keepCompleted: Keep; keepFailed: Keep }) => Driver,
): void {
  describe(`finished-job retention: ${name}`, () => {
    it('keeps the newest keepCompleted completed and keepFailed failed jobs', async () => {
      const job = defineTask({
        name: 'kept',
        run: (input: { fail: boolean }) => {
          if (input.fail) throw new PermanentError('failing on purpose')
        },
      })
      const afterward = instance({
        tasks: [job],
        driver: makeDriver({ keepCompleted: { count: 2 }, keepFailed: { count: 1 } }),
      })
      await afterward.worker({ concurrency: 1 }).start()
      const run = async (fail: boolean): Promise<string> => {
        const { id } = await afterward.enqueue(job, { fail })
        expect((await afterward.jobs.wait(id)).state).toBe(fail ? 'failed' : 'completed')
        return id
      }
      const completed = [await run(false), await run(false), await run(false)]
      const failed = [await run(true), await run(true)]
      // One more of each, so that the trimming of the previous one has surely happened.
      completed.push(await run(false))
      failed.push(await run(true))
      const states = async (ids: string[]) =>
        Promise.all(ids.map(async (id) => (await afterward.jobs.get(id))?.state))
      expect(await states(completed)).toEqual([undefined, undefined, 'completed', 'completed'])
      expect(await states(failed)).toEqual([undefined, undefined, 'failed'])
    })
  })
}
