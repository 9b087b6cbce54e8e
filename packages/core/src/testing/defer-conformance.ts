// The driver suite's tests of what happens at defer and enqueue time: input and options checked
// before anything is stored, an abandoned enqueue that leaves nothing behind, and the request
// scope that buffers jobs until its flush. Registered by driverConformance (driver-conformance.ts).
import { expect, it } from 'vitest'
import { z } from 'zod'
import * as v from 'valibot'
import {
  AfterwardInputError,
  ErrorCode,
  defineTask,
  type AfterwardError,
  type Driver,
} from '../index.js'
import { instance, jobRecord, thrown } from './support.js'

/** Input and options refused at defer time, with the task and JSON path named; nothing stored. */
export function deferValidationTests(makeDriver: () => Driver): void {
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
    await expect(afterward.enqueue(stranger, undefined)).rejects.toThrow(/Unknown task 'stranger'/)
  })

  it('refuses bad options with AFTERWARD_OPTIONS_INVALID', () => {
    const afterward = instance({ tasks: [loose], driver: makeDriver() })
    const scope = afterward.scope()
    const code = (fn: () => unknown): unknown => (thrown(fn) as AfterwardError | undefined)?.code
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
}

/** What a driver must do when its caller gives up on an enqueue. */
export function driverContractTests(makeDriver: () => Driver): void {
  it('an enqueue abandoned by its caller (enqueueTimeout) leaves no job behind', async () => {
    const driver = makeDriver()
    const task = defineTask({ name: 'abandoned', run: () => undefined })
    const afterward = instance({ tasks: [task], driver })
    await afterward.enqueue(task) // connected and warmed up
    const record = (queue: string) => jobRecord('abandoned', { requestId: 'req-abandoned', queue })
    const records = [record('default'), record('other'), record('other')]
    const gaveUp = new AbortController()
    gaveUp.abort()
    await expect(driver.enqueue(records, gaveUp.signal)).rejects.toThrow()
    for (const r of records) expect(await afterward.jobs.get(r.id)).toBeUndefined()
    expect(await afterward.jobs.byRequest('req-abandoned')).toEqual([])
  })
}

/** The request scope: ids at once, nothing stored before the flush, everything at it. */
export function deferScopeTests(makeDriver: () => Driver): void {
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

  it('stores each of many requests flushed at once, indexed under its own request', async () => {
    const afterward = instance({ tasks: [noop], driver: makeDriver() })
    const requests = Array.from({ length: 20 }, (_, i) => {
      const scope = afterward.scope({ requestId: `req-turn-${i}` })
      const ids = Array.from({ length: 1 + (i % 3) }, (_, n) => scope.defer(noop, { n }).id)
      return { requestId: `req-turn-${i}`, scope, ids }
    })
    // Flushed in one event-loop turn; each flush settles only once its own jobs can be read.
    const seen = await Promise.all(
      requests.map(({ scope, ids }) =>
        scope.flush().then(() => Promise.all(ids.map((id) => afterward.jobs.get(id)))),
      ),
    )
    expect(seen.map((jobs) => jobs.map((j) => j?.id))).toEqual(requests.map((r) => r.ids))
    for (const { requestId, ids } of requests) {
      const found = await afterward.jobs.byRequest(requestId)
      expect(found.map((j) => j.id).sort()).toEqual([...ids].sort())
    }
  })

  it('discard drops every buffered job', async () => {
    const afterward = instance({ tasks: [noop], driver: makeDriver() })
    const scope = afterward.scope({ requestId: 'req-discard' })
    const { id } = scope.defer(noop, { n: 1 })
    expect(scope.discard()).toBe(1)
    expect(await afterward.jobs.get(id)).toBeUndefined()
    expect(await afterward.jobs.byRequest('req-discard')).toEqual([])
  })
}
