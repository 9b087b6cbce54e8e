// testDriver() on its own: what it records, how runDue()/runAll() run jobs through the real worker
// (validation, retries, follow-ups, dedup), its clock, its assertions' messages and its refusals.
import { AssertionError } from 'node:assert'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  AfterwardInputError,
  ErrorCode,
  PermanentError,
  defineTask,
  type ContextProvider,
} from '@afterward/core'
import { testDriver } from '@afterward/core/testing'
import { instance, thrown } from '../support/afterward.js'

const fixed = (attempts: number, delay = 1_000) => ({
  attempts,
  backoff: { type: 'fixed' as const, delay, jitter: 0 },
})

describe('testDriver', () => {
  it('records jobs instead of running them, with their input, options and request', async () => {
    const ran: unknown[] = []
    const greet = defineTask({
      name: 'greet',
      input: z.object({ name: z.string() }),
      priority: 'high',
      run: (input) => void ran.push(input),
    })
    const driver = testDriver()
    const afterward = instance({ tasks: [greet], driver })
    await afterward.worker().start()
    const scope = afterward.scope({ requestId: 'req-1' })
    scope.defer(greet, { name: 'Ada' }, { delay: 5_000 })
    await scope.flush()
    await afterward.enqueue(greet, { name: 'Bob' })

    expect(driver.jobs()).toMatchObject([
      { task: 'greet', input: { name: 'Ada' }, requestId: 'req-1', state: 'delayed' },
      { task: 'greet', input: { name: 'Bob' }, requestId: undefined, state: 'waiting' },
    ])
    expect(driver.jobs({ requestId: 'req-1' })[0]?.options).toMatchObject({
      delay: 5_000,
      priority: 'high',
      attempts: 1,
    })
    expect(ran).toEqual([])
    // Validation at defer time is the real one: nothing recorded for a bad input.
    expect(thrown(() => afterward.scope().defer(greet, { name: 1 } as never))).toBeInstanceOf(
      AfterwardInputError,
    )
    expect(driver.jobs()).toHaveLength(2)
  })

  it('runAll() moves the clock through delays and backoff, runs follow-ups, and reports how each job ended', async () => {
    let calls = 0
    const seen: { attempt: number; now: number }[] = []
    const notify = defineTask({ name: 'notify', run: () => undefined })
    const charge = defineTask({
      name: 'charge',
      retry: { attempts: 3, backoff: { type: 'exponential', delay: 1_000, jitter: 0 } },
      run(_input: void, ctx) {
        seen.push({ attempt: ctx.job.attempt, now: driver.clock.now() })
        if (++calls < 3) throw new Error(`card declined ${calls}`)
        ctx.defer(notify, undefined)
      },
    })
    const refund = defineTask({
      name: 'refund',
      retry: fixed(5),
      run() {
        throw new PermanentError('already refunded')
      },
    })
    const driver = testDriver({ now: new Date('2030-01-01T00:00:00Z') })
    const start = driver.clock.now()
    const afterward = instance({ tasks: [charge, notify, refund], driver })
    await afterward.worker().start()
    await afterward.enqueue(charge, undefined, { delay: 10_000 })
    await afterward.enqueue(refund, undefined)

    const finished = await driver.runAll()
    expect(finished.map((j) => [j.task, j.state, j.attemptsMade])).toEqual([
      ['refund', 'failed', 1],
      ['charge', 'completed', 3],
      ['notify', 'completed', 1],
    ])
    // Attempts 2 and 3 waited 1 s and 2 s (exponential) after the 10 s delay, on the test clock.
    expect(seen.map((s) => [s.attempt, s.now - start])).toEqual([
      [1, 10_000],
      [2, 11_000],
      [3, 13_000],
    ])
    expect(driver.jobs({ task: refund })[0]?.lastError).toEqual({
      code: ErrorCode.PERMANENT,
      message: 'already refunded',
    })
    expect(await afterward.jobs.counts()).toEqual([
      {
        queue: 'default',
        counts: { waiting: 0, delayed: 0, active: 0, completed: 2, failed: 1 },
      },
    ])
  })

  it('runs tasks with the real context providers, released after every attempt', async () => {
    const log: string[] = []
    const db: ContextProvider<string> = {
      acquire: (job) => (log.push(`acquire ${job.attempt}`), `conn-${job.attempt}`),
      release: (value, outcome) => void log.push(`release ${value} ${outcome.status}`),
    }
    const task = defineTask({
      name: 'uses-db',
      retry: fixed(2),
      run(_input: void, ctx) {
        if (ctx.job.attempt === 1) throw new Error('deadlock')
        log.push(`run with ${String(ctx.db)}`)
      },
    })
    const driver = testDriver()
    const afterward = instance({ tasks: [task], driver, context: { db } })
    await afterward.worker().start()
    await afterward.enqueue(task, undefined)
    await driver.runAll()
    expect(log).toEqual([
      'acquire 1',
      'release conn-1 failure',
      'acquire 2',
      'run with conn-2',
      'release conn-2 success',
    ])
  })

  it('holds limits and ctx.retryAfter on the test clock', async () => {
    const starts: number[] = []
    let throttled = false
    const report = defineTask({
      name: 'report',
      rate: { max: 1, per: 60_000 },
      run(_input: { n: number }, ctx) {
        if (!throttled) {
          throttled = true
          ctx.retryAfter(5_000) // the first run hears 429: once more in 5 s, same attempt
        }
        starts.push(ctx.job.startedAt.getTime() - start)
      },
    })
    const driver = testDriver()
    const start = driver.clock.now()
    const afterward = instance({ tasks: [report], driver })
    await afterward.worker().start()
    await afterward.enqueue(report, { n: 1 })
    await afterward.enqueue(report, { n: 2 })
    const finished = await driver.runAll()
    // Which of the two takes the second window depends on the held jobs' spread.
    const byN = finished.map((j) => [(j.input as { n: number }).n, j.attemptsMade])
    expect(byN.sort()).toEqual([
      [1, 1],
      [2, 1],
    ])
    // The first run started at 0 and asked to wait 5 s (it used the minute's one start); the
    // two runs that completed had a window each, at 60 s and 120 s (plus up to 25 ms spread).
    expect(starts.map((ms) => Math.floor(ms / 1_000))).toEqual([60, 120])
  })

  it('stores one live job per dedup key, as the other drivers do', async () => {
    const task = defineTask({ name: 'sync', run: (_input: { id: number }) => undefined })
    const driver = testDriver()
    const afterward = instance({ tasks: [task], driver })
    await afterward.worker().start()
    const first = await afterward.enqueue(task, { id: 1 }, { key: 'user-1' })
    const second = await afterward.enqueue(task, { id: 2 }, { key: 'user-1' })
    expect(second).toEqual({ id: first.id, deduplicated: true })
    expect(driver.jobs()).toHaveLength(1)
    await driver.runAll()
    expect((await afterward.enqueue(task, { id: 3 }, { key: 'user-1' })).deduplicated).toBe(false)
  })

  it('assertions fail with node:assert errors that list what was recorded', async () => {
    const greet = defineTask({ name: 'greet', run: (_input: { name: string }) => undefined })
    const other = defineTask({ name: 'other', run: () => undefined })
    const driver = testDriver()
    const afterward = instance({ tasks: [greet, other], driver })
    const scope = afterward.scope({ requestId: 'req-7' })
    scope.defer(greet, { name: 'Ada' })
    await scope.flush()

    expect(driver.assertDeferred(greet, { input: { name: 'Ada' } }).requestId).toBe('req-7')
    const wrongInput = thrown(() => driver.assertDeferred(greet, { input: { name: 'Bob' } }))
    expect(wrongInput).toBeInstanceOf(AssertionError)
    expect((wrongInput as Error).message).toBe(
      `Expected 'greet' to be deferred with input {"name":"Bob"}. Jobs recorded:\n  greet {"name":"Ada"} (request req-7, waiting)`,
    )
    expect(() => driver.assertDeferred(other)).toThrow(/Expected 'other' to be deferred\./)
    expect(() => driver.assertDeferred(greet, { options: { priority: 'high' } })).toThrow(
      /with options \{"priority":"high"\}/,
    )
    driver.assertNothingDeferred({ requestId: 'req-8' })
    driver.assertNothingDeferred({ task: other })
    expect(() => driver.assertNothingDeferred({ requestId: 'req-7' })).toThrow(
      `Expected no job by request req-7 to be deferred, but 1 was:\n  greet {"name":"Ada"} (request req-7, waiting)`,
    )
  })

  it('refuses to run without a started worker, a task that defers itself forever, and a clock going back', async () => {
    const loop = defineTask({
      name: 'loop',
      run: (_input: void, ctx) => void ctx.defer(loop, undefined),
    })
    const driver = testDriver({ maxAttempts: 20 })
    const afterward = instance({ tasks: [loop], driver })
    await afterward.enqueue(loop, undefined)
    await expect(driver.runAll()).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringMatching(/queue 'default'.*afterward\.worker\(\)\.start\(\)/),
    })
    await afterward.worker().start()
    await expect(driver.runAll()).rejects.toMatchObject({
      code: ErrorCode.WAIT_TIMEOUT,
      message: expect.stringMatching(/20 attempts made.*deferring itself forever/),
    })

    const code = (fn: () => unknown) => (thrown(fn) as { code?: string } | undefined)?.code
    expect(code(() => driver.clock.advance(-1))).toBe(ErrorCode.CONFIG_INVALID)
    expect(code(() => driver.clock.set(driver.clock.now() - 1))).toBe(ErrorCode.CONFIG_INVALID)
    expect(code(() => testDriver({ now: Number.NaN }))).toBe(ErrorCode.CONFIG_INVALID)
    expect(code(() => testDriver({ maxAttempts: 0 }))).toBe(ErrorCode.CONFIG_INVALID)
  })

  it('works under node:test', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/node-test.ts', import.meta.url))
    const child = fork(fixture, [], {
      execArgv: ['--import', 'tsx', '--conditions=source', '--test', '--test-reporter=tap'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(output).toMatch(/# pass 3\n/)
    expect(output).toMatch(/# fail 0\n/)
    expect(code).toBe(0)
  })
})

describe('testDriver operator calls', () => {
  it('detail lists each failed attempt; retry runs the job again on the next run; remove deletes it', async () => {
    let healthy = false
    const flaky = defineTask({
      name: 'flaky',
      retry: fixed(2, 10),
      run: () => {
        if (!healthy) throw new Error('not yet')
      },
    })
    const driver = testDriver()
    const afterward = instance({ tasks: [flaky], driver })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(flaky, undefined)
    await driver.runAll()
    const failed = await afterward.jobs.detail(id)
    expect(failed).toMatchObject({ state: 'failed', attemptsMade: 2 })
    expect(failed?.errors.map((e) => e.message)).toEqual(['not yet', 'not yet'])
    healthy = true
    expect(await afterward.jobs.retry(id)).toMatchObject({ state: 'waiting', attemptsMade: 0 })
    await driver.runAll()
    expect(await afterward.jobs.get(id)).toMatchObject({ state: 'completed', attemptsMade: 1 })
    await expect(afterward.jobs.retry(id)).rejects.toMatchObject({
      code: ErrorCode.JOB_STATE_INVALID,
    })
    await afterward.jobs.remove(id)
    expect(await afterward.jobs.get(id)).toBeUndefined()
    await expect(afterward.jobs.remove(id)).rejects.toMatchObject({
      code: ErrorCode.JOB_NOT_FOUND,
    })
  })
})
