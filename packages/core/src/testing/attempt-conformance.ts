// The driver suite's tests of how one job's attempts run: typed input, retries with backoff,
// PermanentError, timeouts, and jobs that fail at once (unknown task, stale input). Registered
// by driverConformance.
import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { z } from 'zod'
import { AfterwardError, PermanentError, defineTask, type Driver } from '../index.js'
import { deferred, instance } from './support.js'

/** A job run, retried, timed out or failed for good, and its state afterwards. */
export function attemptTests(makeDriver: () => Driver): void {
  it('runs a job with its typed input and reports it completed', async () => {
    const seen = deferred<{
      input: unknown
      attempt: number
      requestId: string | undefined
      trace: unknown
    }>()
    const task = defineTask({
      name: 'greet',
      input: z.object({ name: z.string().transform((s) => s.toUpperCase()) }),
      run(input, ctx) {
        seen.resolve({
          input,
          attempt: ctx.job.attempt,
          requestId: ctx.job.requestId,
          trace: ctx.job.trace,
        })
      },
    })
    const afterward = instance({ tasks: [task], driver: makeDriver() })
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const scope = afterward.scope({ requestId: 'req-run', trace: { traceparent } })
    const { id } = scope.defer(task, { name: 'ada' })
    await scope.flush()
    await afterward.worker({ concurrency: 2 }).start()
    expect(await seen.promise).toEqual({
      input: { name: 'ADA' },
      attempt: 1,
      requestId: 'req-run',
      trace: { traceparent },
    })
    const done = await afterward.jobs.wait(id)
    expect(done).toMatchObject({
      id,
      state: 'completed',
      task: 'greet',
      attemptsMade: 1,
      maxAttempts: 1,
      requestId: 'req-run',
      lastError: undefined,
    })
    expect(done.input).toEqual({ name: 'ada' })
    expect(done.finishedAt!.getTime()).toBeGreaterThanOrEqual(done.startedAt!.getTime())
  })

  it('jobs.wait on an id that was never stored says so, with AFTERWARD_JOB_NOT_FOUND', async () => {
    const task = defineTask({ name: 'stored', run: () => undefined })
    const afterward = instance({ tasks: [task], driver: makeDriver() })
    await afterward.enqueue(task)
    await expect(afterward.jobs.wait(randomUUID())).rejects.toMatchObject({
      code: 'AFTERWARD_JOB_NOT_FOUND',
    })
  })

  it('retries with backoff until an attempt succeeds', async () => {
    const attempts: number[] = []
    const flaky = defineTask({
      name: 'flaky',
      retry: { attempts: 3, backoff: { type: 'fixed', delay: 20, jitter: 0 } },
      run(_input: void, ctx) {
        attempts.push(ctx.job.attempt)
        if (ctx.job.attempt < 3) throw new Error(`boom ${ctx.job.attempt}`)
      },
    })
    const afterward = instance({ tasks: [flaky], driver: makeDriver() })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(flaky, undefined)
    const done = await afterward.jobs.wait(id)
    expect(done.state).toBe('completed')
    expect(done.attemptsMade).toBe(3)
    expect(attempts).toEqual([1, 2, 3])
  })

  it('fails for good after the last attempt, keeping the last error', async () => {
    const failing = defineTask({
      name: 'failing',
      retry: { attempts: 2, backoff: { type: 'exponential', delay: 10 } },
      run(_input: void, ctx) {
        throw new Error(`broken on attempt ${ctx.job.attempt}`)
      },
    })
    const afterward = instance({ tasks: [failing], driver: makeDriver() })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(failing, undefined)
    const done = await afterward.jobs.wait(id)
    expect(done).toMatchObject({ state: 'failed', attemptsMade: 2, maxAttempts: 2 })
    expect(done.lastError).toEqual({ message: 'broken on attempt 2', code: undefined })
  })

  it('PermanentError skips the remaining retries', async () => {
    let runs = 0
    const task = defineTask({
      name: 'permanent',
      retry: { attempts: 5, backoff: { type: 'fixed', delay: 10 } },
      run() {
        runs++
        throw new PermanentError('user was deleted')
      },
    })
    const afterward = instance({ tasks: [task], driver: makeDriver() })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(task, undefined)
    const done = await afterward.jobs.wait(id)
    expect(done).toMatchObject({ state: 'failed', attemptsMade: 1 })
    expect(done.lastError).toEqual({ message: 'user was deleted', code: 'AFTERWARD_PERMANENT' })
    expect(runs).toBe(1)
  })

  it('aborts ctx.signal at the timeout and fails the attempt with AFTERWARD_TIMEOUT', async () => {
    const aborted = deferred<unknown>()
    const slow = defineTask({
      name: 'slow',
      timeout: 100,
      retry: { attempts: 2, backoff: { type: 'fixed', delay: 10 } },
      async run(_input: void, ctx) {
        ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason))
        await new Promise(() => undefined) // never settles on its own
      },
    })
    const afterward = instance({ tasks: [slow], driver: makeDriver() })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(slow, undefined)
    const done = await afterward.jobs.wait(id)
    expect(await aborted.promise).toBeInstanceOf(AfterwardError)
    expect(done).toMatchObject({ state: 'failed', attemptsMade: 2 })
    expect(done.lastError?.code).toBe('AFTERWARD_TIMEOUT')
    expect(done.lastError?.message).toMatch(/timed out after 100 ms/)
  })

  it('counts an error raised after the deadline as the timeout, even before the timer fires', async () => {
    // The loop is held past the deadline, then the task throws: its rejection is seen before
    // the timer (as when a server's statement_timeout cancels a query at the deadline).
    const late = defineTask({
      name: 'late',
      timeout: 30,
      retry: { attempts: 1 },
      async run() {
        const until = Date.now() + 60
        while (Date.now() < until); // holds the event loop past the deadline
        throw new Error('cancelled by the server')
      },
    })
    const afterward = instance({ tasks: [late], driver: makeDriver() })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(late, undefined)
    const done = await afterward.jobs.wait(id)
    expect(done.state).toBe('failed')
    expect(done.lastError?.code).toBe('AFTERWARD_TIMEOUT')
  })

  it('fails at once, without retries, a job whose task the worker does not know', async () => {
    const ghost = defineTask({ name: 'ghost', retry: { attempts: 4 }, run: () => undefined })
    const driver = makeDriver()
    const producer = instance({ tasks: [ghost], driver })
    const other = defineTask({ name: 'other', run: () => undefined })
    const consumer = instance({ tasks: [other], driver })
    await consumer.worker().start()
    const { id } = await producer.enqueue(ghost, undefined)
    const done = await consumer.jobs.wait(id)
    expect(done).toMatchObject({ state: 'failed', attemptsMade: 1 })
    expect(done.lastError?.code).toBe('AFTERWARD_UNKNOWN_TASK')
    expect(done.lastError?.message).toMatch(/Unknown task 'ghost'/)
  })

  it('fails at once a job whose stored input no longer matches the schema', async () => {
    const v1 = defineTask({
      name: 'resize',
      input: z.object({ width: z.string() }),
      retry: { attempts: 4 },
      run: () => undefined,
    })
    let ran = false
    const v2 = defineTask({
      name: 'resize',
      input: z.object({ width: z.number() }),
      run: () => {
        ran = true
      },
    })
    const driver = makeDriver()
    const producer = instance({ tasks: [v1], driver })
    const consumer = instance({ tasks: [v2], driver })
    await consumer.worker().start()
    const { id } = await producer.enqueue(v1, { width: '100' })
    const done = await consumer.jobs.wait(id)
    expect(done).toMatchObject({ state: 'failed', attemptsMade: 1 })
    expect(done.lastError?.code).toBe('AFTERWARD_INPUT_INVALID')
    expect(done.lastError?.message).toMatch(/input\.width/)
    expect(ran).toBe(false)
  })
}
