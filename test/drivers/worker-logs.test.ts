// The worker's per-job logging and ctx, on memory(): levels of the lifecycle lines, the job's
// child logger (made lazily, but with its bindings), ctx as a plain spreadable object, and
// ctx.defer refused once the attempt is over.
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { defineTask, memory, PermanentError, type TaskContext } from '@afterward/core'
import { instance } from '../support/afterward.js'

/** A pino logger at `level` whose lines the test can read. */
function capturing(level: string): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { logger, lines }
}

const DEBUG = 20
const INFO = 30
const WARN = 40
const ERROR = 50

describe('worker logs and ctx', () => {
  it('logs enqueue, start and completion at debug, a retry at warn, a final failure at error', async () => {
    const { logger, lines } = capturing('debug')
    const ok = defineTask({ name: 'ok', run: () => undefined })
    const flaky = defineTask({
      name: 'flaky',
      retry: { attempts: 2, backoff: { type: 'fixed', delay: 1, jitter: 0 } },
      run() {
        throw new Error('always fails')
      },
    })
    const driver = memory()
    const afterward = instance({ tasks: [ok, flaky], driver, logger })
    await afterward.worker().start()
    const scope = afterward.scope({ requestId: 'req-logs' })
    const okJob = scope.defer(ok)
    const flakyJob = scope.defer(flaky)
    await scope.flush()
    await driver.drain()

    // memory() may start a job before the enqueue line is written: that line is checked apart.
    const about = (jobId: string) =>
      lines
        .filter((l) => l.jobId === jobId && l.msg !== 'job enqueued' && l.msg !== 'job deferred')
        .map((l) => [l.level, l.msg])
    const levelsOf = (jobId: string, msg: string) =>
      lines.filter((l) => l.jobId === jobId && l.msg === msg).map((l) => l.level)
    for (const job of [okJob, flakyJob]) {
      expect(levelsOf(job.id, 'job deferred')).toEqual([DEBUG])
      expect(levelsOf(job.id, 'job enqueued')).toEqual([DEBUG])
    }
    expect(about(okJob.id)).toEqual([
      [DEBUG, 'job started'],
      [DEBUG, 'job completed'],
    ])
    expect(about(flakyJob.id)).toEqual([
      [DEBUG, 'job started'],
      [WARN, 'job attempt failed; will retry'],
      [DEBUG, 'job started'],
      [ERROR, 'job failed for good'],
    ])
    const completed = lines.find((l) => l.jobId === okJob.id && l.msg === 'job completed')
    expect(completed).toMatchObject({ task: 'ok', attempt: 1, requestId: 'req-logs' })
    expect(completed?.ms).toEqual(expect.any(Number))
    expect(lines.find((l) => l.msg === 'worker started')?.level).toBe(INFO)
  })

  it("logs each event of one request's jobs once, with job id, task, attempt, request id and trace id", async () => {
    const { logger, lines } = capturing('debug')
    const ok = defineTask({ name: 'traced', run: () => undefined })
    const driver = memory()
    const afterward = instance({ tasks: [ok], driver, logger })
    await afterward.worker().start()
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const trace = { traceparent: `00-${traceId}-00f067aa0ba902b7-01` }
    const kept = afterward.scope({ requestId: 'req-kept', trace })
    const job = kept.defer(ok)
    await kept.flush()
    await driver.drain()
    const dropped = afterward.scope({ requestId: 'req-dropped', trace })
    const gone = dropped.defer(ok)
    dropped.discard()

    const of = (jobId: string) => lines.filter((l) => l.jobId === jobId)
    expect(
      of(job.id)
        .map((l) => l.msg)
        .sort(),
    ).toEqual(['job completed', 'job deferred', 'job enqueued', 'job started'].sort())
    for (const line of of(job.id)) {
      expect(line).toMatchObject({ task: 'traced', requestId: 'req-kept', traceId })
    }
    expect(of(job.id).find((l) => l.msg === 'job started')).toMatchObject({ attempt: 1 })
    expect(of(gone.id).map((l) => [l.level, l.msg])).toEqual([
      [DEBUG, 'job deferred'],
      [DEBUG, 'job discarded'],
    ])
    expect(of(gone.id)[1]).toMatchObject({ requestId: 'req-dropped', traceId })
  })

  it('writes no per-job line at info for jobs that succeed', async () => {
    const { logger, lines } = capturing('info')
    const ok = defineTask({ name: 'quiet', run: () => undefined })
    const driver = memory()
    const afterward = instance({ tasks: [ok], driver, logger })
    await afterward.worker().start()
    await afterward.enqueue(ok)
    await driver.drain()
    await afterward.close()
    expect(lines.map((l) => l.msg)).toEqual(['worker started', 'worker closed'])
  })

  it('gives the task a child logger with the job bindings, and a ctx that spreads whole', async () => {
    const { logger, lines } = capturing('info')
    let spread: Record<string, unknown> = {}
    const task = defineTask({
      name: 'spreads',
      run(_input: undefined, ctx) {
        spread = { ...ctx }
        ctx.log.info('from the task')
      },
    })
    const driver = memory()
    const afterward = instance({
      tasks: [task],
      driver,
      logger,
      context: { now: { acquire: () => 7 } },
    })
    await afterward.worker().start()
    const scope = afterward.scope({ requestId: 'req-ctx' })
    const { id } = scope.defer(task)
    await scope.flush()
    await driver.drain()
    expect(lines.find((l) => l.msg === 'from the task')).toMatchObject({
      jobId: id,
      task: 'spreads',
      attempt: 1,
      requestId: 'req-ctx',
    })
    expect(Object.keys(spread).sort()).toEqual([
      'defer',
      'job',
      'log',
      'now',
      'retryAfter',
      'signal',
    ])
    expect(spread.signal).toBeInstanceOf(AbortSignal)
    expect(spread.now).toBe(7)
  })

  it('refuses a ctx.defer made after the attempt ended, whether it succeeded or failed', async () => {
    const child = defineTask({ name: 'late-child', run: () => undefined })
    const kept: TaskContext[] = []
    const task = defineTask({
      name: 'keeps-ctx',
      run(input: { fail: boolean }, ctx) {
        kept.push(ctx)
        if (input.fail) throw new PermanentError('fails')
      },
    })
    const driver = memory()
    const afterward = instance({ tasks: [task, child], driver })
    await afterward.worker().start()
    await afterward.enqueue(task, { fail: false })
    await afterward.enqueue(task, { fail: true })
    await driver.drain()
    expect(() => kept[0]!.defer(child)).toThrow(
      expect.objectContaining({
        code: 'AFTERWARD_CLOSED',
        message: expect.stringMatching(/already flushed/),
      }),
    )
    expect(() => kept[1]!.defer(child)).toThrow(
      expect.objectContaining({
        code: 'AFTERWARD_CLOSED',
        message: expect.stringMatching(/already discarded/),
      }),
    )
  })
})
