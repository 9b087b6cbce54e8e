// The driver suite's tests of `jobs.list` and `jobs.counts`: filters, paging by position while
// jobs arrive and finish, limits, and refused queries. Registered by driverConformance.
import { expect, it } from 'vitest'
import {
  AfterwardError,
  ErrorCode,
  PermanentError,
  defineTask,
  type Afterward,
  type Driver,
  type JobCountsQuery,
  type JobListQuery,
  type JobRecord,
} from '../index.js'
import { instance, jobRecord } from './support.js'

/** Listing jobs newest first, page by page, and counting them per queue and state. */
export function listingTests(makeDriver: () => Driver): void {
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
    expect(await list({ task: 'list-a', state: ['waiting', 'delayed'], queue: 'default' })).toEqual(
      ids([r3, r1]),
    )
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
      [{ state: 'pending' }, /state must be one of waiting, delayed, active, completed, failed/],
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
}
