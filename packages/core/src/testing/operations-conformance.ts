// The operator's calls (jobs.retry, jobs.remove, jobs.detail) and input redaction, run against
// every driver: a CLI or a dashboard does the same thing on memory(), Redis and PostgreSQL.
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode, PermanentError, defineTask, type Driver, type JobInfo } from '../index.js'
import { closeInstances, deferred, instance } from './support.js'

const fixed = (attempts: number) => ({
  attempts,
  backoff: { type: 'fixed' as const, delay: 10, jitter: 0 },
})

/**
 * Registers the operator calls' suite (`jobs.detail`, `jobs.retry`, `jobs.remove`, and `redact`
 * on every read); `driverConformance` calls it. `errorsKeptOnRetry` is where drivers may differ:
 * BullMQ's PostgreSQL backend drops a job's stacks when it is retried.
 */
export function operationsConformance(
  name: string,
  makeDriver: () => Driver,
  errorsKeptOnRetry: boolean,
): void {
  describe(`operator calls: ${name}`, () => {
    afterEach(closeInstances)
    it('detail lists each failed attempt with message, code and stack; retry runs the job again with all its attempts', async () => {
      let healthy = false
      const seen: { attempt: number; redelivered: boolean }[] = []
      const flaky = defineTask({
        name: 'flaky',
        retry: fixed(2),
        run(_input: { n: number }, ctx) {
          seen.push({ attempt: ctx.job.attempt, redelivered: ctx.job.redelivered })
          if (healthy) return
          if (ctx.job.attempt === 1) throw new Error('upstream said no')
          throw new PermanentError('account closed')
        },
      })
      const afterward = instance({ tasks: [flaky], driver: makeDriver() })
      const worker = afterward.worker()
      await worker.start()
      const { id } = await afterward.enqueue(flaky, { n: 1 })
      const failed = await afterward.jobs.wait(id)
      expect(failed).toMatchObject({ state: 'failed', attemptsMade: 2, maxAttempts: 2 })

      const detail = await afterward.jobs.detail(id)
      expect(detail).toMatchObject({ id, state: 'failed', task: 'flaky', input: { n: 1 } })
      expect(detail?.errors).toEqual([
        {
          message: 'upstream said no',
          code: undefined,
          stack: expect.stringMatching(/^Error: upstream said no\n\s+at /),
        },
        {
          message: 'account closed',
          code: ErrorCode.PERMANENT,
          stack: expect.stringContaining('account closed\n'),
        },
      ])
      expect(detail?.errors[0]?.stack).toMatch(/operations-conformance\.[jt]s/)

      // No worker runs while it is retried, so that what retry resolves with is what it did.
      await worker.close()
      healthy = true
      const retried = await afterward.jobs.retry(id)
      expect(retried).toMatchObject({
        id,
        state: 'waiting',
        attemptsMade: 0,
        maxAttempts: 2,
        lastError: undefined,
        finishedAt: undefined,
      })
      expect(await afterward.jobs.get(id)).toEqual(retried)
      await afterward.worker().start()
      const done = await afterward.jobs.wait(id)
      expect(done).toMatchObject({ state: 'completed', attemptsMade: 1, lastError: undefined })
      expect(seen.at(-1)).toEqual({ attempt: 1, redelivered: false })
      // The errors of the runs before the retry stay visible (not on PostgreSQL).
      expect((await afterward.jobs.detail(id))?.errors.map((e) => e.message)).toEqual(
        errorsKeptOnRetry ? ['upstream said no', 'account closed'] : [],
      )
    })

    it('refuses to retry a job that is not failed, and unknown ids, with stable codes', async () => {
      const noop = defineTask({ name: 'noop', run: (_input: number) => undefined })
      const afterward = instance({ tasks: [noop], driver: makeDriver() })
      const { id } = await afterward.enqueue(noop, 1)
      await expect(afterward.jobs.retry(id)).rejects.toMatchObject({
        code: ErrorCode.JOB_STATE_INVALID,
        message: expect.stringMatching(/is waiting; only a failed job can be retried/),
      })
      await afterward.worker().start()
      await afterward.jobs.wait(id)
      await expect(afterward.jobs.retry(id)).rejects.toMatchObject({
        code: ErrorCode.JOB_STATE_INVALID,
        message: expect.stringMatching(/is completed.*Enqueue a new job/),
      })
      const missing = { code: ErrorCode.JOB_NOT_FOUND, message: expect.stringContaining('nope') }
      await expect(afterward.jobs.retry('nope')).rejects.toMatchObject(missing)
      await expect(afterward.jobs.remove('nope')).rejects.toMatchObject(missing)
      expect(await afterward.jobs.detail('nope')).toBeUndefined()
      expect(await afterward.jobs.get(id)).toMatchObject({ state: 'completed' })
    })

    it('remove deletes waiting, delayed and failed jobs: no read finds them, no worker runs them', async () => {
      const ran: number[] = []
      const record = defineTask({
        name: 'record',
        run: (input: number) => {
          ran.push(input)
          if (input === 3) throw new PermanentError('no')
        },
      })
      const afterward = instance({ tasks: [record], driver: makeDriver() })
      const scope = afterward.scope({ requestId: 'req-remove' })
      const removed = scope.defer(record, 1, { key: 'one' }).id
      const delayed = scope.defer(record, 2, { delay: 60_000 }).id
      await scope.flush()
      await afterward.jobs.remove(removed)
      await afterward.jobs.remove(delayed)
      expect(await afterward.jobs.get(removed)).toBeUndefined()
      expect(await afterward.jobs.get(delayed)).toBeUndefined()
      expect(await afterward.jobs.byRequest('req-remove')).toEqual([])
      expect((await afterward.jobs.list()).jobs).toEqual([])
      const counts = (await afterward.jobs.counts({ queue: 'default' }))[0]?.counts
      expect(counts).toMatchObject({ waiting: 0, delayed: 0 })

      // Its dedup key is free again, and a worker runs the later jobs, not the removed one.
      const again = await afterward.enqueue(record, 10, { key: 'one' })
      expect(again.deduplicated).toBe(false)
      const { id: failing } = await afterward.enqueue(record, 3)
      await afterward.worker({ concurrency: 1 }).start()
      await afterward.jobs.wait(again.id)
      expect((await afterward.jobs.wait(failing)).state).toBe('failed')
      expect(ran).toEqual([10, 3])
      await afterward.jobs.remove(failing)
      expect(await afterward.jobs.get(failing)).toBeUndefined()
      await expect(afterward.jobs.remove(failing)).rejects.toMatchObject({
        code: ErrorCode.JOB_NOT_FOUND,
      })
    })

    it('refuses to remove a running job, which then finishes', async () => {
      const started = deferred()
      const release = deferred()
      const slow = defineTask({
        name: 'slow',
        run: () => {
          started.resolve()
          return release.promise
        },
      })
      const afterward = instance({ tasks: [slow], driver: makeDriver() })
      await afterward.worker().start()
      const { id } = await afterward.enqueue(slow, undefined)
      await started.promise
      await expect(afterward.jobs.remove(id)).rejects.toMatchObject({
        code: ErrorCode.JOB_STATE_INVALID,
        message: expect.stringMatching(/is active.*Wait until it finishes/),
      })
      release.resolve()
      expect((await afterward.jobs.wait(id)).state).toBe('completed')
    })

    it('redact hides input fields on every read, while the task gets them all', async () => {
      const inputs: unknown[] = []
      const signup = defineTask({
        name: 'signup',
        run: (input: { email: string; password: string; cards: { number: string }[] }) =>
          void inputs.push(input),
      })
      const afterward = instance({
        tasks: [signup],
        driver: makeDriver(),
        redact: ['password', 'cards[*].number', 'not.there'],
      })
      const input = { email: 'a@example.com', password: 'hunter2', cards: [{ number: '4242' }] }
      const shown = {
        email: 'a@example.com',
        password: '[redacted]',
        cards: [{ number: '[redacted]' }],
      }
      const scope = afterward.scope({ requestId: 'req-redact' })
      const { id } = scope.defer(signup, input)
      await scope.flush()
      const reads: JobInfo[] = [
        (await afterward.jobs.get(id))!,
        (await afterward.jobs.detail(id))!,
        ...(await afterward.jobs.byRequest('req-redact')),
        ...(await afterward.jobs.list()).jobs,
      ]
      expect(reads.map((j) => j.input)).toEqual([shown, shown, shown, shown])
      await afterward.worker().start()
      expect((await afterward.jobs.wait(id)).input).toEqual(shown)
      expect(inputs).toEqual([input])
    })
  })
}
