// One suite, run against every driver: the semantics users rely on must not depend on the driver.
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import * as v from 'valibot'
import {
  AfterwardError,
  AfterwardInputError,
  ErrorCode,
  PermanentError,
  defineTask,
  type Afterward,
  type ContextProvider,
  type Driver,
  type JobCountsQuery,
  type JobListQuery,
  type JobRecord,
  type TaskOutcome,
} from '../index.js'
import { eventConformance } from './event-conformance.js'
import { operationsConformance } from './operations-conformance.js'
import { closeInstances, deferred, instance, jobRecord, thrown } from './support.js'

/** Options of {@link driverConformance}. */
export interface DriverConformanceOptions {
  /** Names the suite in the report: `driver conformance: <name>`. */
  name: string
  /**
   * Returns a new driver each time, isolated from every other one (its own key prefix, schema or
   * memory): tests run one after another and must not see each other's jobs. The suite closes
   * each driver through the instance it builds on it.
   */
  makeDriver: () => Driver
  /**
   * Whether `jobs.detail` still lists the errors of the attempts before an operator's
   * `jobs.retry` (BullMQ's PostgreSQL backend drops them). @defaultValue true
   */
  errorsKeptOnRetry?: boolean
}

/**
 * Registers the driver conformance suite with vitest: the semantics every driver must keep
 * (defer-time validation, the request scope, retries and backoff, timeouts, delay, priority,
 * dedup keys, option precedence, contexts, follow-up jobs, shutdown and inspection), each test
 * on a fresh driver from `makeDriver`. Call it at the top level of a test file. `memory()` and
 * `bullmq()` pass it; a third-party driver proves itself the same way.
 *
 * @example
 * // my-driver.test.ts
 * import { driverConformance } from '@afterward/core/conformance'
 * driverConformance({ name: 'my driver', makeDriver: () => myDriver({ prefix: randomUUID() }) })
 */
export function driverConformance({
  name,
  makeDriver,
  errorsKeptOnRetry = true,
}: DriverConformanceOptions): void {
  eventConformance(name, makeDriver)
  operationsConformance(name, makeDriver, errorsKeptOnRetry)
  describe(`driver conformance: ${name}`, () => {
    afterEach(closeInstances)
    describe('defer-time validation', () => {
      const order = defineTask({
        name: 'order',
        input: z.object({ items: z.array(z.object({ sku: z.string(), at: z.iso.datetime() })) }),
        run: () => undefined,
      })
      const loose = defineTask({ name: 'loose', run: (_input: unknown) => undefined })

      it('names the task and the JSON path of a schema failure, and stores nothing', async () => {
        const afterward = instance({ tasks: [order], driver: makeDriver() })
        const scope = afterward.scope({ requestId: 'req-invalid' })
        const bad = {
          items: [
            { sku: 'a', at: '2026-01-01T00:00:00Z' },
            { sku: 'b', at: '2026-01-01T00:00:00Z' },
            { sku: 'c', at: 'yesterday' },
          ],
        }
        const caught = thrown(() => scope.defer(order, bad))
        expect(caught).toBeInstanceOf(AfterwardInputError)
        const error = caught as AfterwardInputError
        expect(error.code).toBe('AFTERWARD_INPUT_INVALID')
        expect(error.task).toBe('order')
        expect(error.path).toBe('input.items[2].at')
        expect(error.message).toContain("task 'order'")
        expect(error.message).toContain('input.items[2].at')
        expect(scope.size).toBe(0)
        await scope.flush()
        expect(await afterward.jobs.byRequest('req-invalid')).toEqual([])
      })

      it('accepts any Standard Schema validator (valibot here)', async () => {
        const task = defineTask({
          name: 'vb',
          input: v.object({ n: v.number() }),
          run: () => undefined,
        })
        const afterward = instance({ tasks: [task], driver: makeDriver() })
        expect(() => afterward.scope().defer(task, { n: 'x' } as never)).toThrow(/input\.n/)
        const { id } = await afterward.enqueue(task, { n: 1 })
        expect((await afterward.jobs.get(id))?.input).toEqual({ n: 1 })
      })

      class Money {
        constructor(readonly cents: number) {}
      }
      const circular: Record<string, unknown> = { a: 1 }
      circular['self'] = circular
      const cases: [string, unknown, string, RegExp][] = [
        ['a function', { cb: () => 1 }, 'input.cb', /function/],
        ['a symbol', { s: Symbol('x') }, 'input.s', /symbol/],
        ['a BigInt', { n: 10n }, 'input.n', /BigInt/],
        ['NaN', { n: Number.NaN }, 'input.n', /NaN/],
        ['Infinity', { list: [1, Infinity] }, 'input.list[1]', /Infinity/],
        ['undefined in an array', { list: [1, undefined] }, 'input.list[1]', /undefined/],
        ['a Map', { m: new Map() }, 'input.m', /Map/],
        ['a Set', { s: new Set([1]) }, 'input.s', /Set/],
        ['a class instance', { price: new Money(5) }, 'input.price', /Money/],
        ['a circular reference', circular, 'input.self', /circular/],
        ['a Date without a schema', { when: new Date() }, 'input.when', /ISO string/],
      ]
      it.each(cases)('refuses %s at its path', async (_label, input, path, message) => {
        const afterward = instance({ tasks: [loose], driver: makeDriver() })
        const scope = afterward.scope({ requestId: 'req-json' })
        const caught = thrown(() => scope.defer(loose, input))
        expect(caught).toBeInstanceOf(AfterwardInputError)
        expect((caught as AfterwardInputError).path).toBe(path)
        expect((caught as Error).message).toMatch(message)
        expect(scope.size).toBe(0)
      })

      it('accepts a Date when the schema accepts its ISO string, and stores the string', async () => {
        const task = defineTask({
          name: 'dated',
          input: z.object({ at: z.iso.datetime() }),
          run: () => undefined,
        })
        const afterward = instance({ tasks: [task], driver: makeDriver() })
        const at = new Date('2026-03-01T10:00:00.000Z')
        const { id } = await afterward.enqueue(task, { at: at as unknown as string })
        expect((await afterward.jobs.get(id))?.input).toEqual({ at: '2026-03-01T10:00:00.000Z' })
      })

      it('refuses input over the size limit, and the limit is configurable', async () => {
        const afterward = instance({ tasks: [loose], driver: makeDriver(), maxInputBytes: 1_000 })
        expect(() => afterward.scope().defer(loose, { text: 'x'.repeat(1_000) })).toThrow(
          /over the 1000-byte limit/,
        )
        const { id } = await afterward.enqueue(loose, { text: 'x'.repeat(900) })
        expect(await afterward.jobs.get(id)).toBeDefined()
      })

      it('refuses a task that is not registered, with AFTERWARD_UNKNOWN_TASK', async () => {
        const afterward = instance({ tasks: [loose], driver: makeDriver() })
        const stranger = defineTask({ name: 'stranger', run: () => undefined })
        const caught = thrown(() => afterward.scope().defer(stranger, undefined))
        expect(caught).toBeInstanceOf(AfterwardInputError)
        expect((caught as AfterwardError).code).toBe(ErrorCode.UNKNOWN_TASK)
        expect((caught as Error).message).toMatch(/createAfterward\(\{ tasks/)
        await expect(afterward.enqueue(stranger, undefined)).rejects.toThrow(
          /Unknown task 'stranger'/,
        )
      })

      it('refuses bad options with AFTERWARD_OPTIONS_INVALID', () => {
        const afterward = instance({ tasks: [loose], driver: makeDriver() })
        const scope = afterward.scope()
        const code = (fn: () => unknown): unknown =>
          (thrown(fn) as AfterwardError | undefined)?.code
        expect(code(() => scope.defer(loose, 1, { retry: { attempts: 0 } }))).toBe(
          ErrorCode.OPTIONS_INVALID,
        )
        expect(code(() => scope.defer(loose, 1, { priority: 'urgent' as never }))).toBe(
          ErrorCode.OPTIONS_INVALID,
        )
        expect(code(() => scope.defer(loose, 1, { delay: -5 }))).toBe(ErrorCode.OPTIONS_INVALID)
        expect(code(() => scope.defer(loose, 1, { queue: 'a:b' }))).toBe(ErrorCode.OPTIONS_INVALID)
        expect(code(() => scope.defer(loose, 1, { key: '' }))).toBe(ErrorCode.OPTIONS_INVALID)
        expect(scope.size).toBe(0)
      })
    })

    describe('driver contract', () => {
      it('an enqueue abandoned by its caller (enqueueTimeout) leaves no job behind', async () => {
        const driver = makeDriver()
        const task = defineTask({ name: 'abandoned', run: () => undefined })
        const afterward = instance({ tasks: [task], driver })
        await afterward.enqueue(task) // connected and warmed up
        const record = (queue: string) =>
          jobRecord('abandoned', { requestId: 'req-abandoned', queue })
        const records = [record('default'), record('other'), record('other')]
        const gaveUp = new AbortController()
        gaveUp.abort()
        await expect(driver.enqueue(records, gaveUp.signal)).rejects.toThrow()
        for (const r of records) expect(await afterward.jobs.get(r.id)).toBeUndefined()
        expect(await afterward.jobs.byRequest('req-abandoned')).toEqual([])
      })
    })

    describe('listing and counting jobs', () => {
      const a = defineTask({ name: 'list-a', run: () => undefined })
      const b = defineTask({ name: 'list-b', run: () => undefined })
      const HOUR = 3_600_000
      const ids = (jobs: readonly { id: string }[]): string[] => jobs.map((j) => j.id)
      /** The order of `jobs.list`: newest `createdAt` first, then the higher id. */
      const newestFirst = (records: readonly JobRecord[]): string[] =>
        [...records]
          .sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? 1 : -1))
          .map((r) => r.id)
      /** Every page of a query, and the page sizes. */
      async function allPages(
        afterward: Afterward,
        query: JobListQuery,
        between?: () => Promise<unknown>,
      ): Promise<{ ids: string[]; sizes: number[] }> {
        const seen: string[] = []
        const sizes: number[] = []
        let cursor: string | undefined
        do {
          const page = await afterward.jobs.list({ ...query, ...(cursor ? { cursor } : {}) })
          seen.push(...ids(page.jobs))
          sizes.push(page.jobs.length)
          cursor = page.next
          if (between && sizes.length === 1) await between()
        } while (cursor !== undefined)
        return { ids: seen, sizes }
      }

      it('lists newest first, by state, task and queue', async () => {
        const driver = makeDriver()
        const afterward = instance({ tasks: [a, b], driver })
        const base = Date.now() - 60_000
        const r1 = jobRecord('list-a', { createdAt: base + 1_000 })
        const r2 = jobRecord('list-b', {
          createdAt: base + 2_000,
          queue: 'other',
          priority: 'high',
        })
        const r3 = jobRecord('list-a', { createdAt: base + 3_000, delay: HOUR })
        const r4 = jobRecord('list-b', { createdAt: base + 4_000, priority: 'low' })
        await driver.enqueue([r1, r3, r2, r4])
        const list = async (query?: JobListQuery): Promise<string[]> =>
          ids((await afterward.jobs.list(query)).jobs)

        expect(await list()).toEqual(ids([r4, r3, r2, r1]))
        expect(await list({ state: 'delayed' })).toEqual(ids([r3]))
        expect(await list({ state: 'waiting' })).toEqual(ids([r4, r2, r1]))
        expect(await list({ state: ['active', 'completed', 'failed'] })).toEqual([])
        expect(await list({ task: 'list-b' })).toEqual(ids([r4, r2]))
        expect(await list({ task: 'list-c' })).toEqual([])
        expect(await list({ queue: 'other' })).toEqual(ids([r2]))
        expect(await list({ queue: 'unused' })).toEqual([])
        expect(
          await list({ task: 'list-a', state: ['waiting', 'delayed'], queue: 'default' }),
        ).toEqual(ids([r3, r1]))
        const page = await afterward.jobs.list({ queue: 'other' })
        expect(page.next).toBeUndefined()
        expect(page.jobs).toEqual([
          expect.objectContaining({
            id: r2.id,
            task: 'list-b',
            queue: 'other',
            state: 'waiting',
            attemptsMade: 0,
            createdAt: new Date(r2.createdAt),
          }),
        ])
      })

      it('pages through every job once, in order, while newer jobs arrive', async () => {
        const driver = makeDriver()
        const afterward = instance({ tasks: [a, b], driver })
        const base = Date.now() - 60_000
        // Pairs share a creation time: the id orders them.
        const records = Array.from({ length: 9 }, (_, i) =>
          jobRecord(i % 3 === 0 ? 'list-b' : 'list-a', {
            createdAt: base + Math.floor(i / 2) * 1_000,
            delay: i === 4 ? HOUR : 0,
          }),
        )
        await driver.enqueue([...records].reverse())
        const expected = newestFirst(records)

        const newer = jobRecord('list-a')
        const paged = await allPages(afterward, { limit: 4 }, () => driver.enqueue([newer]))
        expect(paged.sizes).toEqual([4, 4, 1])
        expect(paged.ids).toEqual(expected)
        // A limit that divides the count: the last page is full and says that none follows.
        const exact = await allPages(afterward, { limit: 5 })
        expect(exact.sizes).toEqual([5, 5])
        expect(exact.ids).toEqual([newer.id, ...expected])
        // Filters page the same way.
        const ofA = records.filter((r) => r.task === 'list-a')
        const filtered = await allPages(afterward, { task: 'list-a', state: 'waiting', limit: 2 })
        expect(filtered.ids).toEqual([
          newer.id,
          ...newestFirst(ofA.filter((r) => r.options.delay === 0)),
        ])
        expect(filtered.sizes).toEqual([2, 2, 2])
      })

      it('returns 50 jobs by default and up to 1000', async () => {
        const driver = makeDriver()
        const afterward = instance({ tasks: [a], driver })
        const base = Date.now() - 60_000
        const records = Array.from({ length: 51 }, (_, i) =>
          jobRecord('list-a', { createdAt: base + i }),
        )
        await driver.enqueue(records)
        const first = await afterward.jobs.list()
        expect(ids(first.jobs)).toEqual(newestFirst(records).slice(0, 50))
        expect(first.next).toEqual(expect.any(String))
        const rest = await afterward.jobs.list({ cursor: first.next! })
        expect(ids(rest.jobs)).toEqual([records[0]!.id])
        expect(rest.next).toBeUndefined()
        expect((await afterward.jobs.list({ limit: 1_000 })).jobs).toHaveLength(51)
        expect(ids((await afterward.jobs.list({ limit: 1 })).jobs)).toEqual([records[50]!.id])
      })

      it('refuses a bad query with AFTERWARD_OPTIONS_INVALID, naming what is wrong', async () => {
        const afterward = instance({ tasks: [a], driver: makeDriver() })
        await afterward.enqueue(a)
        const cases: [unknown, RegExp][] = [
          [{ limit: 0 }, /limit must be an integer from 1 to 1000 \(got 0\)/],
          [{ limit: 1_001 }, /limit .* \(got 1001\)/],
          [{ limit: 2.5 }, /limit .* \(got 2\.5\)/],
          [{ limit: '10' }, /limit .* \(got "10"\)/],
          [{ limit: Number.NaN }, /limit .* \(got NaN\)/],
          [
            { state: 'pending' },
            /state must be one of delayed, waiting, active, completed, failed/,
          ],
          [{ state: [] }, /non-empty array/],
          [{ state: ['waiting', 'paused'] }, /state must be/],
          [{ task: '' }, /task must be a task name/],
          [{ queue: 'a:b' }, /queue must be a queue name/],
          [{ cursor: 'not-a-cursor' }, /cursor "not-a-cursor" is not one that jobs\.list returned/],
          [{ cursor: 42 }, /cursor 42/],
          [
            { states: 'failed' },
            /unknown field 'states' \(fields: state, task, queue, limit, cursor\)/,
          ],
          ['failed', /pass an object/],
        ]
        for (const [query, message] of cases) {
          const error = await afterward.jobs.list(query as JobListQuery).then(
            () => undefined,
            (err: unknown) => err,
          )
          expect(error, JSON.stringify(query)).toBeInstanceOf(AfterwardError)
          expect((error as AfterwardError).code).toBe(ErrorCode.OPTIONS_INVALID)
          expect((error as Error).message).toMatch(/^Invalid jobs\.list query: /)
          expect((error as Error).message).toMatch(message)
        }
        await expect(afterward.jobs.counts({ queue: 'a b' })).rejects.toMatchObject({
          code: ErrorCode.OPTIONS_INVALID,
          message: expect.stringMatching(/^Invalid jobs\.counts query: queue must be/),
        })
        await expect(
          afterward.jobs.counts({ queues: ['default'] } as JobCountsQuery),
        ).rejects.toMatchObject({
          code: ErrorCode.OPTIONS_INVALID,
          message: expect.stringMatching(/unknown field 'queues'/),
        })
      })

      it('counts jobs per queue and state, after jobs complete and fail', async () => {
        const ok = defineTask({ name: 'count-ok', run: () => undefined })
        const bad = defineTask({
          name: 'count-bad',
          run() {
            throw new PermanentError('not this one')
          },
        })
        const afterward = instance({ tasks: [ok, bad], driver: makeDriver() })
        const zero = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 }
        expect(await afterward.jobs.counts()).toEqual([])

        const done = [
          (await afterward.enqueue(ok)).id,
          (await afterward.enqueue(ok, undefined, { priority: 'high' })).id,
          (await afterward.enqueue(bad, undefined, { queue: 'other' })).id,
        ]
        const later = await afterward.enqueue(ok, undefined, { delay: HOUR })
        expect(await afterward.jobs.counts()).toEqual([
          { queue: 'default', counts: { ...zero, waiting: 2, delayed: 1 } },
          { queue: 'other', counts: { ...zero, waiting: 1 } },
        ])

        await afterward.worker({ queues: ['default', 'other'] }).start()
        for (const id of done) await afterward.jobs.wait(id)
        expect(await afterward.jobs.counts()).toEqual([
          { queue: 'default', counts: { ...zero, delayed: 1, completed: 2 } },
          { queue: 'other', counts: { ...zero, failed: 1 } },
        ])
        expect(await afterward.jobs.counts({ queue: 'other' })).toEqual([
          { queue: 'other', counts: { ...zero, failed: 1 } },
        ])
        expect(await afterward.jobs.counts({ queue: 'unused' })).toEqual([
          { queue: 'unused', counts: zero },
        ])

        const failed = await afterward.jobs.list({ state: 'failed' })
        expect(failed.jobs).toEqual([
          expect.objectContaining({
            id: done[2],
            task: 'count-bad',
            queue: 'other',
            attemptsMade: 1,
            lastError: { code: 'AFTERWARD_PERMANENT', message: 'not this one' },
          }),
        ])
        expect(ids((await afterward.jobs.list({ state: 'completed' })).jobs).sort()).toEqual(
          [done[0], done[1]].sort(),
        )
        expect(ids((await afterward.jobs.list({ state: 'delayed' })).jobs)).toEqual([later.id])
      })

      it('pages through hundreds of jobs, finished in another order than created', async () => {
        const driver = makeDriver()
        const afterward = instance({ tasks: [a, b], driver })
        const base = Date.now() - HOUR
        // Creation times out of order, so that neither storing nor finishing follows them.
        const at = (i: number): number => base + ((i * 7_919) % 1_000) * 1_000
        const finished = Array.from({ length: 450 }, (_, i) =>
          jobRecord(i % 3 === 0 ? 'list-b' : 'list-a', { createdAt: at(i) }),
        )
        await driver.enqueue(finished)
        const worker = afterward.worker({ concurrency: 20 })
        await worker.start()
        for (const r of finished) await afterward.jobs.wait(r.id)
        await worker.close()
        const live = Array.from({ length: 250 }, (_, i) =>
          jobRecord('list-a', { createdAt: at(i + 450) + 500 }),
        )
        await driver.enqueue(live)

        const completed = await allPages(afterward, { state: 'completed', limit: 100 })
        expect(completed.sizes).toEqual([100, 100, 100, 100, 50])
        expect(completed.ids).toEqual(newestFirst(finished))
        const every = await allPages(afterward, { limit: 1_000 })
        expect(every.ids).toEqual(newestFirst([...finished, ...live]))
        const ofB = await allPages(afterward, { task: 'list-b', limit: 60 })
        expect(ofB.ids).toEqual(newestFirst(finished.filter((r) => r.task === 'list-b')))
        const waiting = await allPages(afterward, { state: 'waiting', limit: 200 })
        expect(waiting.ids).toEqual(newestFirst(live))
      })
    })

    describe('defer scope', () => {
      const noop = defineTask({
        name: 'noop',
        input: z.object({ n: z.number() }),
        run: () => undefined,
      })

      it('returns ids at once, stores nothing before flush, all jobs at flush', async () => {
        const afterward = instance({ tasks: [noop], driver: makeDriver() })
        const scope = afterward.scope({ requestId: 'req-scope' })
        const ids = [1, 2, 3].map((n) => scope.defer(noop, { n }).id)
        expect(new Set(ids).size).toBe(3)
        expect(await afterward.jobs.get(ids[0]!)).toBeUndefined()
        const results = await scope.flush()
        expect(results.map((r) => r.id)).toEqual(ids)
        const stored = await afterward.jobs.byRequest('req-scope')
        expect(stored.map((j) => j.id).sort()).toEqual([...ids].sort())
        expect(
          stored.every(
            (j) => j.state === 'waiting' && j.requestId === 'req-scope' && j.task === 'noop',
          ),
        ).toBe(true)
        expect(() => scope.defer(noop, { n: 4 })).toThrow(/already flushed/)
      })

      it('keeps apart requests whose ids share a prefix or contain a separator', async () => {
        const afterward = instance({ tasks: [noop], driver: makeDriver() })
        const ids = ['req-a', 'req-a|b', 'req-a|', 'req-ab', '7:req-a']
        const jobs = new Map<string, string[]>()
        for (const requestId of ids) {
          const scope = afterward.scope({ requestId })
          jobs.set(requestId, [scope.defer(noop, { n: 1 }).id, scope.defer(noop, { n: 2 }).id])
          await scope.flush()
        }
        for (const requestId of ids) {
          const found = await afterward.jobs.byRequest(requestId)
          expect(found.map((j) => j.id).sort()).toEqual([...jobs.get(requestId)!].sort())
        }
        expect(await afterward.jobs.byRequest('req')).toEqual([])
      })

      it('discard drops every buffered job', async () => {
        const afterward = instance({ tasks: [noop], driver: makeDriver() })
        const scope = afterward.scope({ requestId: 'req-discard' })
        const { id } = scope.defer(noop, { n: 1 })
        expect(scope.discard()).toBe(1)
        expect(await afterward.jobs.get(id)).toBeUndefined()
        expect(await afterward.jobs.byRequest('req-discard')).toEqual([])
      })
    })

    describe('running jobs', () => {
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

      it('keeps a delayed job until its time', async () => {
        const task = defineTask({ name: 'later', run: () => undefined })
        const afterward = instance({ tasks: [task], driver: makeDriver() })
        await afterward.worker().start()
        const { id } = await afterward.enqueue(task, undefined, { delay: 300 })
        expect((await afterward.jobs.get(id))?.state).toBe('delayed')
        const done = await afterward.jobs.wait(id)
        expect(done.state).toBe('completed')
        expect(done.startedAt!.getTime() - done.createdAt.getTime()).toBeGreaterThanOrEqual(290)
      })

      it('runs high before normal before low, FIFO within a priority', async () => {
        const order: string[] = []
        const task = defineTask({ name: 'ranked', run: (input: string) => void order.push(input) })
        const afterward = instance({ tasks: [task], driver: makeDriver() })
        const scope = afterward.scope()
        const ids = [
          scope.defer(task, 'low-1', { priority: 'low' }),
          scope.defer(task, 'normal-1'),
          scope.defer(task, 'high-1', { priority: 'high' }),
          scope.defer(task, 'normal-2', { priority: 'normal' }),
          scope.defer(task, 'high-2', { priority: 'high' }),
        ].map((job) => job.id)
        await scope.flush()
        // Everything is queued before the worker starts, so only priority decides the order.
        await afterward.worker({ concurrency: 1 }).start()
        await Promise.all(ids.map((id) => afterward.jobs.wait(id)))
        expect(order).toEqual(['high-1', 'high-2', 'normal-1', 'normal-2', 'low-1'])
      })

      it('dedup: at most one live job per task and key', async () => {
        const gate = deferred()
        const task = defineTask({ name: 'sync-user', run: () => gate.promise })
        const afterward = instance({ tasks: [task], driver: makeDriver() })
        const first = await afterward.enqueue(task, undefined, { key: 'user-7' })
        const second = await afterward.enqueue(task, undefined, { key: 'user-7' })
        expect(first.deduplicated).toBe(false)
        expect(second).toEqual({ id: first.id, deduplicated: true })
        const otherKey = await afterward.enqueue(task, undefined, { key: 'user-8' })
        expect(otherKey.deduplicated).toBe(false)
        await afterward.worker().start()
        await waitUntil(async () => (await afterward.jobs.get(first.id))?.state === 'active')
        expect((await afterward.enqueue(task, undefined, { key: 'user-7' })).deduplicated).toBe(
          true,
        )
        gate.resolve()
        await afterward.jobs.wait(first.id)
        const third = await afterward.enqueue(task, undefined, { key: 'user-7' })
        expect(third.deduplicated).toBe(false)
        expect((await afterward.jobs.wait(third.id)).state).toBe('completed')
      })

      it('applies options call site > scope (route) > task > defaults', async () => {
        const task = defineTask({
          name: 'layered',
          retry: { attempts: 3 },
          queue: 'layered',
          run: () => undefined,
        })
        const bare = defineTask({ name: 'bare', run: () => undefined })
        const afterward = instance({
          tasks: [task, bare],
          driver: makeDriver(),
          defaults: { retry: { attempts: 2 }, priority: 'low' },
        })
        const scope = afterward.scope({
          requestId: 'req-prec',
          options: { retry: { attempts: 4 } },
        })
        const call = scope.defer(task, undefined, { retry: { attempts: 5 } })
        const route = scope.defer(task, undefined)
        const plain = afterward.scope({ requestId: 'req-prec2' })
        const fromTask = plain.defer(task, undefined)
        const fromDefaults = plain.defer(bare, undefined)
        await scope.flush()
        await plain.flush()
        const get = async (id: string) => (await afterward.jobs.get(id))!
        expect((await get(call.id)).maxAttempts).toBe(5)
        expect((await get(route.id)).maxAttempts).toBe(4)
        expect((await get(fromTask.id)).maxAttempts).toBe(3)
        expect((await get(fromDefaults.id)).maxAttempts).toBe(2)
        expect((await get(fromTask.id)).queue).toBe('layered')
        expect((await get(fromDefaults.id)).queue).toBe('default')
      })
    })

    describe('ctx.defer and contexts', () => {
      it('enqueues follow-up jobs only when the task succeeds, under the same request id', async () => {
        const child = defineTask({ name: 'child', run: () => undefined })
        const parent = defineTask({
          name: 'parent',
          run(input: { fail: boolean }, ctx) {
            ctx.defer(child, undefined)
            if (input.fail) throw new PermanentError('parent failed')
          },
        })
        const afterward = instance({ tasks: [parent, child], driver: makeDriver() })
        await afterward.worker().start()
        const okScope = afterward.scope({ requestId: 'req-ok' })
        const ok = okScope.defer(parent, { fail: false })
        await okScope.flush()
        const badScope = afterward.scope({ requestId: 'req-bad' })
        const bad = badScope.defer(parent, { fail: true })
        await badScope.flush()
        await afterward.jobs.wait(ok.id)
        await afterward.jobs.wait(bad.id)
        const okJobs = await afterward.jobs.byRequest('req-ok')
        expect(okJobs.map((j) => j.task).sort()).toEqual(['child', 'parent'])
        const childJob = okJobs.find((j) => j.task === 'child')!
        expect((await afterward.jobs.wait(childJob.id)).state).toBe('completed')
        expect((await afterward.jobs.byRequest('req-bad')).map((j) => j.task)).toEqual(['parent'])
      })

      it('acquires before and releases after every attempt, whatever the outcome', async () => {
        const events: string[] = []
        let next = 0
        const provider: ContextProvider<{ n: number }> = {
          setup: ({ concurrency }) => void events.push(`setup:${concurrency}`),
          acquire: () => ({ n: ++next }),
          release: (value, outcome: TaskOutcome) =>
            void events.push(`release:${value.n}:${outcome.status}`),
          teardown: () => void events.push('teardown'),
        }
        const task = defineTask({
          name: 'ctx',
          timeout: 100,
          async run(input: 'ok' | 'throw' | 'hang', ctx) {
            const res = (ctx as unknown as { res: { n: number } }).res
            events.push(`run:${res.n}:${input}`)
            if (input === 'throw') throw new Error('nope')
            if (input === 'hang') await new Promise(() => undefined)
          },
        })
        const afterward = instance({
          tasks: [task],
          driver: makeDriver(),
          context: { res: provider },
        })
        const worker = afterward.worker({ concurrency: 1 })
        await worker.start()
        for (const input of ['ok', 'throw', 'hang'] as const) {
          const { id } = await afterward.enqueue(task, input)
          await afterward.jobs.wait(id)
        }
        await worker.close()
        expect(events).toEqual([
          'setup:1',
          'run:1:ok',
          'release:1:success',
          'run:2:throw',
          'release:2:failure',
          'run:3:hang',
          'release:3:timeout',
          'teardown',
        ])
      })

      it('a hanging acquire is bounded by the timeout, and released when it arrives late', async () => {
        const late = deferred<string>()
        const released = deferred<string>()
        const provider: ContextProvider<string> = {
          acquire: () => late.promise,
          release: (value, outcome) => released.resolve(`${value}:${outcome.status}`),
        }
        const task = defineTask({ name: 'starved', timeout: 100, run: () => undefined })
        const afterward = instance({
          tasks: [task],
          driver: makeDriver(),
          context: { conn: provider },
        })
        await afterward.worker().start()
        const { id } = await afterward.enqueue(task)
        const done = await afterward.jobs.wait(id)
        expect(done.state).toBe('failed')
        expect(done.lastError?.code).toBe('AFTERWARD_TIMEOUT')
        late.resolve('connection-1')
        expect(await released.promise).toBe('connection-1:timeout')
      })

      it('a failing release after success fails the attempt (a commit that failed)', async () => {
        const provider: ContextProvider<null> = {
          acquire: () => null,
          release: (_v, outcome) => {
            if (outcome.status === 'success') throw new Error('commit failed')
          },
        }
        const task = defineTask({ name: 'commit', run: () => undefined })
        const afterward = instance({
          tasks: [task],
          driver: makeDriver(),
          context: { tx: provider },
        })
        await afterward.worker().start()
        const { id } = await afterward.enqueue(task, undefined)
        const done = await afterward.jobs.wait(id)
        expect(done.state).toBe('failed')
        expect(done.lastError).toEqual({
          code: 'AFTERWARD_CONTEXT_FAILED',
          message: "Context 'tx' failed to release: commit failed",
        })
      })
    })

    describe('shutdown', () => {
      it('close() waits for running jobs within the grace period', async () => {
        const started = deferred()
        const task = defineTask({
          name: 'finishing',
          async run() {
            started.resolve()
            await new Promise((r) => setTimeout(r, 200))
          },
        })
        const afterward = instance({ tasks: [task], driver: makeDriver() })
        const worker = afterward.worker({ gracePeriod: 5_000 })
        await worker.start()
        const { id } = await afterward.enqueue(task, undefined)
        await started.promise
        await worker.close()
        expect((await afterward.jobs.get(id))?.state).toBe('completed')
      })

      it('a close() during start() leaves no consumer and no provider behind', async () => {
        const setupGate = deferred()
        const events: string[] = []
        const provider: ContextProvider<null> = {
          setup: () => setupGate.promise.then(() => void events.push('setup')),
          acquire: () => null,
          teardown: () => void events.push('teardown'),
        }
        let ran = false
        const task = defineTask({
          name: 'after-close',
          run: () => {
            ran = true
          },
        })
        const afterward = instance({
          tasks: [task],
          driver: makeDriver(),
          context: { p: provider },
        })
        const worker = afterward.worker()
        const starting = worker.start()
        const closing = worker.close()
        setupGate.resolve()
        await starting
        await closing
        expect(events).toEqual(['setup', 'teardown'])
        const { id } = await afterward.enqueue(task)
        expect((await afterward.jobs.get(id))?.state).toBe('waiting')
        expect(ran).toBe(false)
      })

      it('afterward.close() lets the jobs it waits for defer follow-ups', async () => {
        const started = deferred()
        const gate = deferred()
        const child = defineTask({ name: 'child-on-close', run: () => undefined })
        const parent = defineTask({
          name: 'parent-on-close',
          async run(_input: void, ctx) {
            started.resolve()
            await gate.promise
            ctx.defer(child)
          },
        })
        const inner = makeDriver()
        const stored: string[] = []
        // Records what reaches the broker: the instance (and its driver) is closed afterwards.
        const driver: Driver = {
          ...inner,
          name: inner.name,
          durable: inner.durable,
          enqueue: async (records) => {
            const results = await inner.enqueue(records)
            stored.push(...records.map((r) => r.task))
            return results
          },
          get: (id) => inner.get(id),
          byRequest: (id) => inner.byRequest(id),
          waitFor: (id, ms) => inner.waitFor(id, ms),
          consume: (o) => inner.consume(o),
          close: () => inner.close(),
        }
        const afterward = instance({ tasks: [parent, child], driver })
        await afterward.worker({ gracePeriod: 5_000 }).start()
        await afterward.enqueue(parent)
        await started.promise
        const closing = afterward.close()
        expect(() => afterward.scope().defer(child)).toThrow(/shutting down/)
        gate.resolve()
        await closing
        expect(stored).toEqual(['parent-on-close', 'child-on-close'])
      })

      it('a job still running after the grace period goes back to the queue and runs again', async () => {
        const first = deferred()
        let runs = 0
        const task = defineTask({
          name: 'stubborn',
          async run(_input: void, ctx) {
            runs++
            if (runs === 1) {
              first.resolve()
              await new Promise((r) => ctx.signal.addEventListener('abort', r))
            }
          },
        })
        const driver = makeDriver()
        const afterward = instance({ tasks: [task], driver })
        const worker = afterward.worker({ gracePeriod: 100 })
        await worker.start()
        const { id } = await afterward.enqueue(task, undefined)
        await first.promise
        await worker.close()
        const after = await afterward.jobs.get(id)
        expect(after?.state).toBe('waiting')
        await afterward.worker().start()
        const done = await afterward.jobs.wait(id)
        expect(done).toMatchObject({ state: 'completed', attemptsMade: 1 })
        expect(runs).toBe(2)
      })
    })
  })
}

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}
