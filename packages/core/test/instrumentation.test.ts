// createAfterward({ instrumentation }): the hooks around defer, enqueue and attempt, in the
// order they nest, what they may change (the carried trace) and what they cannot (the outcome),
// and that a broken hook never breaks a job.
import { AsyncLocalStorage } from 'node:async_hooks'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import {
  AfterwardEnqueueError,
  ErrorCode,
  createAfterward,
  defineTask,
  memory,
  type AttemptEnd,
  type Instrumentation,
  type JobMeta,
} from '@afterward/core'
import { composeInstrumentation } from '../src/instrumentation.js'
import { instance, silentLogger, thrown } from '../../../test/support/afterward.js'

/** A pino logger whose lines land in `lines`. */
function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino(
    { level: 'error' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  )
  return { logger, lines }
}

describe('instrumentation hooks', () => {
  it('wrap each defer, enqueue and attempt, the first listed outermost, with the task run inside', async () => {
    const calls: string[] = []
    const als = new AsyncLocalStorage<string>()
    const seenInTask: (string | undefined)[] = []
    const ends: AttemptEnd['type'][] = []
    const flaky = defineTask({
      name: 'flaky',
      retry: { attempts: 2, backoff: { type: 'fixed', delay: 1, jitter: 0 } },
      run: (_input: null, ctx) => {
        seenInTask.push(als.getStore())
        if (ctx.job.attempt === 1) throw new Error('first attempt fails')
      },
    })
    const tracer = (name: string): Instrumentation => ({
      defer(job) {
        calls.push(`${name} defer ${job.task}`)
        return { traceparent: `from-${name}`, seen: job.trace?.traceparent ?? 'none' }
      },
      async enqueue(records, send) {
        calls.push(`${name} enqueue ${records.length} >`)
        const results = await send()
        calls.push(`${name} enqueue <`)
        return results
      },
      async attempt(job, run) {
        calls.push(`${name} attempt ${job.attempt} >`)
        const end = await als.run(`${name}:${job.id}`, run)
        if (name === 'outer') ends.push(end.type)
        calls.push(`${name} attempt ${job.attempt} <`)
        return end
      },
    })
    const driver = memory()
    const afterward = instance({
      tasks: [flaky],
      driver,
      instrumentation: [tracer('outer'), tracer('inner')],
    })
    const deferredTrace: unknown[] = []
    afterward.on('deferred', (e) => void deferredTrace.push(e.trace))

    const scope = afterward.scope({ trace: { traceparent: 'from-header' } })
    const { id } = scope.defer(flaky, null)
    await scope.flush()
    await afterward.worker().start()
    await driver.drain()

    expect(calls).toEqual([
      'outer defer flaky',
      'inner defer flaky',
      'outer enqueue 1 >',
      'inner enqueue 1 >',
      'inner enqueue <',
      'outer enqueue <',
      'outer attempt 1 >',
      'inner attempt 1 >',
      'inner attempt 1 <',
      'outer attempt 1 <',
      'outer attempt 2 >',
      'inner attempt 2 >',
      'inner attempt 2 <',
      'outer attempt 2 <',
    ])
    expect(ends).toEqual(['retry', 'completed'])
    // The innermost attempt hook's context is the one the task runs in.
    expect(seenInTask).toEqual([`inner:${id}`, `inner:${id}`])
    // Each defer hook sees the carrier left by the one before it; the last one's is stored.
    const carried = { traceparent: 'from-inner', seen: 'from-outer' }
    expect(deferredTrace).toEqual([carried])
    expect(await afterward.jobs.get(id)).toMatchObject({ state: 'completed', attemptsMade: 2 })
  })

  it('let an enqueue hook set the trace each record carries to its consumer', async () => {
    const traces: JobMeta['trace'][] = []
    const task = defineTask({
      name: 'traced',
      run: (_input: null, ctx) => void traces.push(ctx.job.trace),
    })
    const driver = memory()
    const afterward = instance({
      tasks: [task],
      driver,
      instrumentation: [
        {
          enqueue(records, send) {
            for (const r of records) r.trace = { traceparent: `publish-of-${r.id}` }
            return send()
          },
        },
      ],
    })
    const { id } = await afterward.enqueue(task, null)
    await afterward.worker().start()
    await driver.drain()
    expect(traces).toEqual([{ traceparent: `publish-of-${id}` }])
  })

  it('show an enqueue hook the failure of the enqueue it wraps', async () => {
    const task = defineTask({ name: 'refused', run: (_input: null) => undefined })
    const failures: unknown[] = []
    const afterward = instance({
      tasks: [task],
      driver: memory(),
      instrumentation: [
        {
          enqueue: (_records, send) =>
            send().catch((err: unknown) => {
              failures.push(err)
              throw err
            }),
        },
      ],
    })
    const scope = afterward.scope({
      producer: { enqueue: () => Promise.reject(new Error('broker down')) },
    })
    scope.defer(task, null)
    const error = await scope.flush().catch((err: unknown) => err)
    expect(error).toBeInstanceOf(AfterwardEnqueueError)
    expect(failures).toEqual([error])
  })

  it('cannot change an outcome, and a hook that throws or forgets its callback is logged and skipped', async () => {
    const ran: string[] = []
    const task = defineTask({
      name: 'sturdy',
      run: (input: { n: number }) => void ran.push(`n${input.n}`),
    })
    const { logger, lines } = capture()
    const driver = memory()
    const afterward = createAfterward({
      tasks: [task],
      driver,
      logger,
      instrumentation: [
        {
          defer() {
            throw new Error('defer hook broke')
          },
          enqueue() {
            throw new Error('enqueue hook broke')
          },
          // Resolves with a made-up end without running the job.
          attempt: () => Promise.resolve({ type: 'failed', error: new Error('made up') }),
        },
      ],
    })
    try {
      const { id } = await afterward.enqueue(task, { n: 1 })
      await afterward.worker().start()
      await driver.drain()
      expect(ran).toEqual(['n1'])
      expect(await afterward.jobs.get(id)).toMatchObject({
        state: 'completed',
        lastError: undefined,
      })
      expect(lines.map((l) => [l.msg, l.hook, (l.err as { message: string }).message])).toEqual([
        ['instrumentation hook failed; ignored', 'defer', 'defer hook broke'],
        ['instrumentation hook failed; ignored', 'enqueue', 'enqueue hook broke'],
        [
          'instrumentation hook failed; ignored',
          'attempt',
          'the attempt hook did not call its callback',
        ],
      ])
    } finally {
      await afterward.close()
    }
  })

  it('are refused up front when they are not functions', () => {
    const task = defineTask({ name: 't', run: (_input: null) => undefined })
    const notArray = thrown(() =>
      createAfterward({
        tasks: [task],
        driver: memory(),
        logger: silentLogger,
        instrumentation: { attempt: () => undefined } as never,
      }),
    )
    expect(notArray).toMatchObject({ code: ErrorCode.CONFIG_INVALID })
    expect((notArray as Error).message).toMatch(/instrumentation must be an array/)
    const badHook = thrown(() =>
      createAfterward({
        tasks: [task],
        driver: memory(),
        logger: silentLogger,
        instrumentation: [{}, { enqueue: 'yes' } as never],
      }),
    )
    expect(badHook).toMatchObject({ code: ErrorCode.CONFIG_INVALID })
    expect((badHook as Error).message).toMatch(/instrumentation\[1\] .*\(enqueue is not\)/)
  })

  it('compose to nothing when no hook is given, so that jobs are not wrapped at all', () => {
    expect(composeInstrumentation(undefined, silentLogger)).toBeUndefined()
    expect(composeInstrumentation([], silentLogger)).toBeUndefined()
    expect(composeInstrumentation([{}, {}], silentLogger)).toBeUndefined()
    const onlyAttempt = composeInstrumentation([{ attempt: (_job, run) => run() }], silentLogger)
    expect(onlyAttempt).toMatchObject({ defer: undefined, enqueue: undefined })
    expect(typeof onlyAttempt?.attempt).toBe('function')
  })
})
