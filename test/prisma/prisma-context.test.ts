// prismaContext on a real Prisma 7 client (adapter-pg) and the local PostgreSQL, driven by real
// workers (BullMQ on the local Redis, and memory()). Connections are read from pg_stat_activity by
// the worker's application_name.
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import pg from 'pg'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import {
  bullmq,
  defineTask,
  memory,
  type ContextProvider,
  type Driver,
  type TaskContext,
  type TaskOutcome,
} from '@afterward/core'
import { prismaContext, type TransactionClient } from '@afterward/prisma'
import { deferred, instance } from '../support/afterward.js'
import {
  adminUrl,
  connectionsOf,
  createPrisma,
  createTestDatabase,
  type ConnectionRow,
  type PrismaClient,
  type TestDatabase,
} from '../support/pg.js'
import { redisUrl, uniqueQueueName, waitFor } from '../support/redis.js'

type Db = TransactionClient<PrismaClient>
/** `ctx` of the tasks here: `ctx.db` is a transaction client or the client itself. */
type Ctx = TaskContext<{ db: Db }>

let db: TestDatabase
let check: PrismaClient

beforeAll(async () => {
  db = await createTestDatabase()
  check = createPrisma(db.url, { applicationName: 'aw-prisma-check', max: 2 })
})

afterAll(async () => {
  await check?.$disconnect()
  await db?.drop()
})

const drivers: [string, () => Driver][] = [
  ['bullmq', () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') })],
  ['memory', () => memory()],
]

function appName(): string {
  return `aw-prisma-${randomBytes(5).toString('hex')}`
}

/** A factory whose clients' connections carry `applicationName`. */
function factory(applicationName: string) {
  return ({ poolSize }: { poolSize: number }) =>
    createPrisma(db.url, { applicationName, max: poolSize })
}

/** Records every attempt's final outcome; acquired first, so released last (after `db`). */
function probe() {
  const outcomes: { id: string; attempt: number; status: TaskOutcome['status'] }[] = []
  const provider: ContextProvider<{ id: string; attempt: number }> = {
    acquire: (info) => ({ id: info.id, attempt: info.attempt }),
    release: (value, outcome) => {
      outcomes.push({ ...value, status: outcome.status })
    },
  }
  return { outcomes, provider }
}

/** Samples the app's connections every 25 ms until stopped; returns the most seen at once. */
function sampleConnections(applicationName: string) {
  let max = 0
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      max = Math.max(max, (await connectionsOf(applicationName)).length)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  })()
  return {
    async stop(): Promise<number> {
      stopped = true
      await loop
      return max
    },
  }
}

const idleInTransaction = (rows: ConnectionRow[]) =>
  rows.filter((r) => r.state === 'idle in transaction')

/** Resolves once PostgreSQL shows no connection for `applicationName` (closing is asynchronous). */
function noConnectionsLeft(applicationName: string): Promise<void> {
  return waitFor(
    async () => (await connectionsOf(applicationName)).length === 0,
    'connections remain after close',
    2_000,
  )
}

async function terminate(applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const result = await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    )
    return result.rowCount ?? 0
  } finally {
    await client.end()
  }
}

type Kind = 'ok' | 'throw' | 'slow' | 'tx-throw'
/** 10% throw, 5% run a query past a 200 ms timeout, 5% throw inside a nested transaction. */
const kindOf = (n: number): Kind =>
  (['throw', 'throw', 'slow', 'tx-throw'] as const)[n % 20] ?? 'ok'

const mixed = defineTask({
  name: 'mixed',
  retry: { attempts: 1 },
  async run(input: { n: number; kind: Kind }, ctx: Ctx) {
    const prisma = ctx.db as Db
    await prisma.note.create({ data: { jobId: ctx.job.id, body: input.kind } })
    if (input.kind === 'throw') throw new Error(`job ${input.n} throws`)
    if (input.kind === 'slow') await prisma.$executeRawUnsafe('SELECT pg_sleep(2)')
    if (input.kind === 'tx-throw') {
      await prisma.$transaction(async (tx) => {
        await tx.note.create({ data: { jobId: `${ctx.job.id}-inner`, body: 'inner' } })
        throw new Error(`job ${input.n} throws in a transaction`)
      })
    }
  },
})

describe.each(drivers)('prismaContext with transaction: true (%s)', (_name, makeDriver) => {
  it('commits successful tasks, rolls back the rest, and leaves no connection busy', async () => {
    const applicationName = appName()
    const { outcomes, provider } = probe()
    const context = prismaContext(factory(applicationName), { transaction: true })
    const afterward = instance({
      tasks: [mixed],
      driver: makeDriver(),
      context: { probe: provider, db: context },
    })
    const jobs = 1_000
    const scope = afterward.scope()
    const kinds = new Map<string, Kind>()
    for (let n = 0; n < jobs; n++) {
      const kind = kindOf(n)
      const { id } = scope.defer(mixed, { n, kind }, kind === 'slow' ? { timeout: 200 } : {})
      kinds.set(id, kind)
    }
    await scope.flush()

    const started = performance.now()
    const sampler = sampleConnections(applicationName)
    await afterward.worker({ concurrency: 20 }).start()
    await waitFor(async () => outcomes.length >= jobs, 'not every job ran', 40_000)
    const seconds = (performance.now() - started) / 1_000
    const maxSeen = await sampler.stop()

    const after = await connectionsOf(applicationName)
    expect(maxSeen).toBeLessThanOrEqual(21)
    expect(after.length).toBeLessThanOrEqual(21)
    expect(idleInTransaction(after)).toEqual([])
    expect(after.filter((r) => r.state === 'active')).toEqual([])

    const count = (status: TaskOutcome['status']) =>
      outcomes.filter((o) => o.status === status).length
    expect(count('success')).toBe(800)
    expect(count('failure')).toBe(150)
    expect(count('timeout')).toBe(50)
    const succeeded = outcomes.filter((o) => o.status === 'success').map((o) => o.id)
    expect(succeeded.every((id) => kinds.get(id) === 'ok')).toBe(true)

    const notes = await check.note.findMany({
      where: { jobId: { in: [...kinds.keys(), ...[...kinds.keys()].map((k) => `${k}-inner`)] } },
    })
    expect(notes.map((n) => n.jobId).sort()).toEqual([...succeeded].sort())
    console.info(
      `[prisma tx ${_name}] ${jobs} jobs in ${seconds.toFixed(2)} s; max connections seen ${maxSeen}, after ${after.length}`,
    )
  })
})

describe('prismaContext timeouts (memory)', () => {
  const sleeper = defineTask({
    name: 'sleeper',
    retry: { attempts: 1 },
    timeout: 200,
    async run(input: { hold: number }, ctx: Ctx) {
      const prisma = ctx.db
      await prisma.note.create({ data: { jobId: ctx.job.id, body: 'sleeper' } })
      await prisma.$executeRawUnsafe(`SELECT pg_sleep(${input.hold})`)
    },
  })

  /** A worker for `sleeper` on memory(), its attempts' outcomes recorded, in one transaction each. */
  async function startSleepers(options: { poolSize?: number }, concurrency: number) {
    const applicationName = appName()
    const { outcomes, provider } = probe()
    const afterward = instance({
      tasks: [sleeper],
      driver: memory(),
      context: {
        probe: provider,
        db: prismaContext(factory(applicationName), { transaction: true, ...options }),
      },
    })
    await afterward.worker({ concurrency }).start()
    return { applicationName, outcomes, afterward }
  }

  it('has PostgreSQL cancel a query still running at the deadline (statement_timeout)', async () => {
    const { applicationName, outcomes, afterward } = await startSleepers({}, 1)
    // A query far longer than the test: without statement_timeout the rollback would wait behind
    // it for 30 s, and this wait would give up first.
    const { id } = await afterward.enqueue(sleeper, { hold: 30 })
    await waitFor(async () => outcomes.length === 1, 'the attempt was not released', 5_000)
    expect(outcomes[0]!.status).toBe('timeout')
    const connections = await connectionsOf(applicationName)
    expect(idleInTransaction(connections)).toEqual([])
    expect(connections.filter((c) => c.state === 'active')).toEqual([])
    expect(await check.note.count({ where: { jobId: id } })).toBe(0)
  })

  it('gives up waiting for a connection at the deadline, leaking no transaction', async () => {
    const { applicationName, outcomes, afterward } = await startSleepers({ poolSize: 1 }, 6)
    const scope = afterward.scope()
    for (let n = 0; n < 6; n++) scope.defer(sleeper, { hold: 0.06 })
    const ids = (await scope.flush()).map((r) => r.id)
    await waitFor(async () => outcomes.length === 6, 'not every job finished', 5_000)
    const succeeded = outcomes.filter((o) => o.status === 'success').map((o) => o.id)
    expect(succeeded.length).toBeGreaterThan(0)
    expect(succeeded.length).toBeLessThan(6)
    // A transaction that started after its attempt gave up is released, so rolled back, soon after.
    await waitFor(
      async () => idleInTransaction(await connectionsOf(applicationName)).length === 0,
      'a late transaction was left open',
      5_000,
    )
    const rows = await connectionsOf(applicationName)
    expect(rows.length).toBeLessThanOrEqual(1)
    expect(idleInTransaction(rows)).toEqual([])
    const notes = await check.note.findMany({ where: { jobId: { in: ids } } })
    expect(notes.map((n) => n.jobId).sort()).toEqual(succeeded.sort())
  })
})

describe('prismaContext without a transaction (bullmq)', () => {
  it('writes are not rolled back, and no connection is left busy once queries finish', async () => {
    const applicationName = appName()
    const { outcomes, provider } = probe()
    const afterward = instance({
      tasks: [mixed],
      driver: drivers[0]![1](),
      context: { probe: provider, db: prismaContext(factory(applicationName)) },
    })
    const scope = afterward.scope()
    const jobs = 200
    for (let n = 0; n < jobs; n++)
      scope.defer(mixed, { n, kind: kindOf(n) }, kindOf(n) === 'slow' ? { timeout: 200 } : {})
    const ids = (await scope.flush()).map((r) => r.id)
    const sampler = sampleConnections(applicationName)
    await afterward.worker({ concurrency: 20 }).start()
    await waitFor(async () => outcomes.length >= jobs, 'not every job ran', 20_000)
    const maxSeen = await sampler.stop()
    expect(maxSeen).toBeLessThanOrEqual(21)
    // Without a transaction PostgreSQL is not told about the task's deadline: a query running at
    // the timeout finishes (pg_sleep(2)) before its connection returns to the pool.
    await waitFor(
      async () => (await connectionsOf(applicationName)).every((r) => r.state === 'idle'),
      'connections still busy',
      5_000,
    )
    // Every task wrote its note before throwing or timing out: nothing rolled them back.
    expect(await check.note.count({ where: { jobId: { in: ids } } })).toBe(jobs)
  })
})

describe('prismaContext when PostgreSQL terminates the worker connections', () => {
  it.each(drivers)(
    'keeps the worker up, retries the affected jobs, and later jobs succeed (%s)',
    async (_name, makeDriver) => {
      const applicationName = appName()
      const { outcomes, provider } = probe()
      const steady = defineTask({
        name: 'steady',
        retry: { attempts: 5, backoff: { type: 'fixed', delay: 20 } },
        async run(input: { n: number }, ctx: Ctx) {
          const prisma = ctx.db
          await prisma.note.upsert({
            where: { jobId: ctx.job.id },
            create: { jobId: ctx.job.id, body: 'steady' },
            update: {},
          })
          await prisma.$executeRawUnsafe('SELECT pg_sleep(0.02)')
        },
      })
      const afterward = instance({
        tasks: [steady],
        driver: makeDriver(),
        context: {
          probe: provider,
          db: prismaContext(factory(applicationName), { transaction: true }),
        },
      })
      const scope = afterward.scope()
      const jobs = 300
      for (let n = 0; n < jobs; n++) scope.defer(steady, { n })
      const ids = (await scope.flush()).map((r) => r.id)
      await afterward.worker({ concurrency: 10 }).start()

      await waitFor(async () => outcomes.length >= 100, 'the run did not get going', 10_000)
      const killed = await terminate(applicationName)
      expect(killed).toBeGreaterThan(0)
      const done = () =>
        new Set(outcomes.filter((o) => o.status === 'success').map((o) => o.id)).size
      await waitFor(
        async () => done() >= jobs,
        'not every job succeeded after the termination',
        20_000,
      )
      expect(outcomes.filter((o) => o.status === 'failure').length).toBeGreaterThan(0)
      expect(outcomes.some((o) => o.attempt > 1 && o.status === 'success')).toBe(true)
      expect(await check.note.count({ where: { jobId: { in: ids } } })).toBe(jobs)

      // Idle pooled connections killed between tasks: the pool drops them, the process stays up.
      expect(await terminate(applicationName)).toBeGreaterThan(0)
      await noConnectionsLeft(applicationName) // the pool's clients see their sockets close
      const later = await Promise.all([1, 2, 3].map((n) => afterward.enqueue(steady, { n })))
      for (const { id } of later)
        expect((await afterward.jobs.wait(id, { timeout: 10_000 })).state).toBe('completed')
      expect(idleInTransaction(await connectionsOf(applicationName))).toEqual([])
      console.info(
        `[prisma terminate ${_name}] killed ${killed} connections; ${outcomes.length - jobs} extra attempts`,
      )
    },
  )
})

describe('prismaContext lifecycle', () => {
  it('disconnects on worker.close(): no connection of the worker remains', async () => {
    const applicationName = appName()
    const task = defineTask({
      name: 'touch',
      async run(_input: undefined, ctx: Ctx) {
        await ctx.db.$executeRawUnsafe('SELECT pg_sleep(0.05)')
      },
    })
    const afterward = instance({
      tasks: [task],
      driver: drivers[0]![1](),
      context: { db: prismaContext(factory(applicationName), { transaction: true }) },
    })
    const worker = afterward.worker({ concurrency: 5 })
    await worker.start()
    const scope = afterward.scope()
    for (let n = 0; n < 10; n++) scope.defer(task)
    const [first] = await scope.flush()
    await afterward.jobs.wait(first!.id)
    expect((await connectionsOf(applicationName)).length).toBeGreaterThan(0)
    await worker.close()
    await noConnectionsLeft(applicationName)
  })

  it('rolls back a task aborted at shutdown past the grace period', async () => {
    const applicationName = appName()
    const { outcomes, provider } = probe()
    const started = deferred()
    const hang = defineTask({
      name: 'hang',
      async run(_input: undefined, ctx: Ctx) {
        await ctx.db.note.create({ data: { jobId: ctx.job.id, body: 'hang' } })
        started.resolve()
        await new Promise(() => {})
      },
    })
    const afterward = instance({
      tasks: [hang],
      driver: memory(),
      context: {
        probe: provider,
        db: prismaContext(factory(applicationName), { transaction: true }),
      },
    })
    const worker = afterward.worker({ concurrency: 1, gracePeriod: 100 })
    await worker.start()
    const { id } = await afterward.enqueue(hang)
    await started.promise
    await worker.close()
    expect(outcomes).toEqual([expect.objectContaining({ id, status: 'shutdown' })])
    expect(await check.note.count({ where: { jobId: id } })).toBe(0)
    await noConnectionsLeft(applicationName)
  })

  it('disconnects a passed instance too, unless disconnectOnClose is false', async () => {
    const applicationName = appName()
    const prisma = createPrisma(db.url, { applicationName, max: 2 })
    const task = defineTask({
      name: 'count',
      run: async (_input: undefined, ctx: Ctx) => void (await ctx.db.note.count()),
    })
    const kept = instance({
      tasks: [task],
      driver: memory(),
      context: { db: prismaContext(prisma, { poolSize: 2, disconnectOnClose: false }) },
    })
    const worker = kept.worker({ concurrency: 2 })
    await worker.start()
    await kept.jobs.wait((await kept.enqueue(task)).id)
    await worker.close()
    expect((await connectionsOf(applicationName)).length).toBeGreaterThan(0)

    const closing = instance({
      tasks: [task],
      driver: memory(),
      context: { db: prismaContext(prisma, { poolSize: 2 }) },
    })
    const second = closing.worker({ concurrency: 2 })
    await second.start()
    await closing.jobs.wait((await closing.enqueue(task)).id)
    await second.close()
    await noConnectionsLeft(applicationName)
  })

  it('warns at start when the concurrency exceeds the pool size', async () => {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
        callback()
      },
    })
    const logger = pino({ level: 'info' }, stream)
    const task = defineTask({ name: 'noop', run: () => undefined })
    const prisma = createPrisma(db.url, { applicationName: appName(), max: 4 })
    try {
      const small = instance({
        tasks: [task],
        driver: memory(),
        logger,
        context: { db: prismaContext(prisma, { poolSize: 4 }) },
      })
      await small.worker({ concurrency: 8 }).start()
      const sized = instance({
        tasks: [task],
        driver: memory(),
        logger,
        context: { db: prismaContext(factory(appName())) },
      })
      await sized.worker({ concurrency: 8 }).start()
      const defaults = instance({
        tasks: [task],
        driver: memory(),
        logger,
        context: { db: prismaContext(prisma) },
      })
      await defaults.worker({ concurrency: 20 }).start()
    } finally {
      await prisma.$disconnect()
    }
    const warnings = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.level === 40)
    expect(warnings).toEqual([
      expect.objectContaining({
        context: 'db',
        concurrency: 8,
        poolSize: 4,
        msg: expect.stringContaining('exceeds the Prisma pool size 4'),
      }),
      expect.objectContaining({ context: 'db', concurrency: 20, poolSize: 10 }),
    ])
  })

  it('types ctx.db from the client: the client, or its transaction client', () => {
    const prisma = check
    expectTypeOf(prismaContext(prisma)).toEqualTypeOf<ContextProvider<PrismaClient>>()
    expectTypeOf(prismaContext(prisma, { transaction: true })).toEqualTypeOf<ContextProvider<Db>>()
    expectTypeOf(prismaContext(factory('x'), { transaction: true })).toEqualTypeOf<
      ContextProvider<Db>
    >()
    expect(() => prismaContext({} as PrismaClient)).toThrow(/pass a PrismaClient/)
    expect(() => prismaContext(prisma, { poolSize: 0 })).toThrow(/poolSize/)
  })
})
