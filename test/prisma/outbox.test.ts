// The transactional outbox on a real Prisma 7 client and PostgreSQL: a job deferred with
// afterward.deferIn(tx, ...) exists if and only if its transaction commits, shows as `pending`
// while it waits in the outbox, and runs once after a relay moved it, on every driver setup.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { z } from 'zod'
import {
  AfterwardError,
  AfterwardInputError,
  bullmq,
  defineTask,
  memory,
  type Afterward,
  type Driver,
} from '@afterward/core'
import { prismaOutbox, type OutboxRelay } from '@afterward/prisma'
import { deferred, instance, silentLogger } from '../support/afterward.js'
import { createOutboxDatabase, outboxRows } from '../support/outbox.js'
import {
  createPrisma,
  createTestDatabase,
  type PrismaClient,
  type TestDatabase,
} from '../support/pg.js'
import { redisUrl, uniqueQueueName, waitFor } from '../support/redis.js'

let db: TestDatabase
let prisma: PrismaClient

beforeAll(async () => {
  db = await createOutboxDatabase()
  prisma = createPrisma(db.url, { max: 4 })
})

afterAll(async () => {
  await prisma?.$disconnect()
  await db?.drop()
})

const MIGRATION_COMMAND = 'psql "$DATABASE_URL" -f node_modules/@afterward/prisma/sql/outbox.sql'

/** A task that records each run, so that a test can tell "once" from "twice". */
function recordingTask(name = 'send-receipt') {
  const runs: string[] = []
  const task = defineTask({
    name,
    input: z.object({ orderId: z.number().int() }),
    run: (_input, ctx) => void runs.push(ctx.job.id),
  })
  return { task, runs }
}

const drivers: [string, () => Driver][] = [
  ['memory()', () => memory()],
  ['bullmq() on Redis', () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('outbox') })],
  [
    'bullmq() on PostgreSQL',
    () =>
      bullmq({
        postgres: {
          connectionString: db.url,
          schema: `jobs_${randomBytes(4).toString('hex')}`,
          max: 3,
        },
      }),
  ],
]

describe.each(drivers)('transactional enqueue on %s', (_name, makeDriver) => {
  it('stores the job of a committed transaction once, and never the job of a rolled-back one', async () => {
    const { task, runs } = recordingTask()
    const outbox = prismaOutbox(prisma, { listen: db.url })
    const afterward = instance({ tasks: [task], driver: outbox.driver(makeDriver()) })
    const requestId = `req-${randomBytes(4).toString('hex')}`

    let rolledBack: string | undefined
    const failure = await prisma
      .$transaction(async (tx) => {
        const order = await tx.order.create({ data: { userId: 1, total: 10 } })
        rolledBack = (await afterward.deferIn(tx, task, { orderId: order.id })).id
        throw new Error('payment declined')
      })
      .catch((err: unknown) => err)
    expect(failure).toMatchObject({ message: 'payment declined' })

    const { id } = await prisma.$transaction(async (tx) => {
      const order = await tx.order.create({ data: { userId: 2, total: 20 } })
      return afterward.scope({ requestId }).deferIn(tx, task, { orderId: order.id })
    })

    // No relay yet (no worker): the committed job waits in the outbox.
    const pending = await afterward.jobs.get(id)
    expect(pending).toMatchObject({
      id,
      task: 'send-receipt',
      state: 'pending',
      requestId,
      attemptsMade: 0,
      input: { orderId: expect.any(Number) },
    })
    expect((await afterward.jobs.byRequest(requestId)).map((j) => [j.id, j.state])).toEqual([
      [id, 'pending'],
    ])
    expect(await afterward.jobs.get(rolledBack!)).toBeUndefined()

    // A worker starts the relay, which moves the row to the broker under the same id.
    await afterward.worker().start()
    expect(await afterward.jobs.wait(id, { timeout: 10_000 })).toMatchObject({
      id,
      state: 'completed',
      requestId,
      // Created when deferred, not when relayed: a delay counts from here.
      createdAt: pending!.createdAt,
    })
    expect((await afterward.jobs.byRequest(requestId)).map((j) => [j.id, j.state])).toEqual([
      [id, 'completed'],
    ])
    // The relay went past where the rolled-back row would have been: it never existed.
    expect(runs).toEqual([id])
    expect(await afterward.jobs.get(rolledBack!)).toBeUndefined()
    expect(await outboxRows(db.url)).toBe(0)
  })
})

describe('the relay', () => {
  /** Commits one job and resolves with its id once `relay` stored it in the broker. */
  async function commitAndRelay(
    afterward: Afterward,
    task: ReturnType<typeof recordingTask>['task'],
    relay: OutboxRelay,
    orderId: number,
  ) {
    const relayed = deferred<readonly string[]>()
    const off = relay.onRelayed((ids) => relayed.resolve(ids))
    const { id } = await prisma.$transaction((tx) => afterward.deferIn(tx, task, { orderId }))
    expect(await relayed.promise).toEqual([id])
    off()
    return id
  }

  it('is woken by NOTIFY at the commit, and again after its LISTEN connection was killed', async () => {
    const { task } = recordingTask()
    const broker = memory()
    // Polling once a minute: only a notification can make it move the rows within the test.
    const outbox = prismaOutbox(prisma, { listen: db.url, pollInterval: 60_000 })
    const afterward = instance({ tasks: [task], driver: outbox.driver(broker) })
    const relay = outbox.relay(broker, { logger: silentLogger })
    await relay.start()
    onTestFinished(() => relay.close())

    const first = await commitAndRelay(afterward, task, relay, 1)
    expect(await afterward.jobs.get(first)).toMatchObject({ state: 'waiting' })

    // The server drops the LISTEN connection: the relay reconnects and listens again.
    const admin = new pg.Client({ connectionString: db.url })
    await admin.connect()
    onTestFinished(() => admin.end())
    const { rowCount } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'afterward-outbox-relay' AND datname = current_database()`,
    )
    expect(rowCount).toBe(1)
    await waitFor(async () => {
      const { rows } = await admin.query(
        `SELECT 1 FROM pg_stat_activity
         WHERE application_name = 'afterward-outbox-relay' AND datname = current_database()`,
      )
      return rows.length === 1
    }, 'the relay did not LISTEN again')
    const second = await commitAndRelay(afterward, task, relay, 2)
    expect(await afterward.jobs.get(second)).toMatchObject({ state: 'waiting' })
  })
})

describe('deferIn', () => {
  it('validates the input at the call, like defer, and writes nothing for bad input', async () => {
    const { task } = recordingTask()
    const afterward = instance({ tasks: [task], driver: prismaOutbox(prisma).driver(memory()) })
    const before = await outboxRows(db.url)
    await prisma.$transaction(async (tx) => {
      const error = await afterward
        .deferIn(tx, task, { orderId: 'seven' as unknown as number })
        .catch((err: unknown) => err)
      expect(error).toBeInstanceOf(AfterwardInputError)
      expect(error).toMatchObject({
        code: 'AFTERWARD_INPUT_INVALID',
        task: 'send-receipt',
        path: 'input.orderId',
      })
      const unknown = recordingTask('not-registered').task
      await expect(afterward.deferIn(tx, unknown, { orderId: 1 })).rejects.toMatchObject({
        code: 'AFTERWARD_UNKNOWN_TASK',
      })
      // @ts-expect-error orderId must be a number (checked at compile time too)
      void afterward.deferIn(tx, task, { orderId: 'x' }).catch(() => {})
    })
    expect(await outboxRows(db.url)).toBe(before)
  })

  it('applies job options and precedence as defer does', async () => {
    const { task } = recordingTask()
    const afterward = instance({
      tasks: [task],
      driver: prismaOutbox(prisma).driver(memory()),
      defaults: { retry: { attempts: 2 } },
    })
    const { id } = await prisma.$transaction((tx) =>
      afterward
        .scope({ options: { retry: { attempts: 4 }, queue: 'receipts' } })
        .deferIn(tx, task, { orderId: 1 }, { retry: { attempts: 6 }, key: 'order-1' }),
    )
    expect(await afterward.jobs.get(id)).toMatchObject({
      state: 'pending',
      queue: 'receipts',
      maxAttempts: 6,
      key: 'order-1',
    })
  })

  it('refuses a tx that is not a Prisma transaction client, saying how to get one', async () => {
    const { task } = recordingTask()
    const afterward = instance({ tasks: [task], driver: prismaOutbox(prisma).driver(memory()) })
    for (const tx of [prisma, {}, null, 'tx']) {
      const error = await afterward.deferIn(tx, task, { orderId: 1 }).catch((err: unknown) => err)
      expect(error).toBeInstanceOf(AfterwardError)
      expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
      expect((error as Error).message).toMatch(
        /transaction client.*prisma\.\$transaction\(async \(tx\)/,
      )
    }
    const error = await afterward.deferIn(prisma, task, { orderId: 1 }).catch((err: unknown) => err)
    expect((error as Error).message).toMatch(/the Prisma client itself/)
  })

  it('says so when the transaction is already over', async () => {
    const { task } = recordingTask()
    const afterward = instance({ tasks: [task], driver: prismaOutbox(prisma).driver(memory()) })
    const before = await outboxRows(db.url)
    const leaked = await prisma.$transaction(async (tx) => tx)
    const error = await afterward.deferIn(leaked, task, { orderId: 1 }).catch((err: unknown) => err)
    expect(error).toMatchObject({ code: 'AFTERWARD_ENQUEUE_FAILED' })
    expect((error as Error).message).toMatch(
      /outbox in your transaction.*while the transaction is open/s,
    )
    expect(await outboxRows(db.url)).toBe(before)
  })

  it('names the missing outbox table and the command that creates it', async () => {
    const bare = await createTestDatabase()
    const client = createPrisma(bare.url, { max: 2 })
    try {
      const { task } = recordingTask()
      const afterward = instance({ tasks: [task], driver: prismaOutbox(client).driver(memory()) })
      const error = await client
        .$transaction((tx) => afterward.deferIn(tx, task, { orderId: 1 }))
        .catch((err: unknown) => err)
      expect(error).toBeInstanceOf(AfterwardError)
      expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
      expect((error as Error).message).toContain('"afterward_outbox" does not exist')
      expect((error as Error).message).toContain(MIGRATION_COMMAND)
      await expect(afterward.jobs.get('some-id')).rejects.toThrow(MIGRATION_COMMAND)
      await expect(prismaOutbox(client).lag()).rejects.toThrow(MIGRATION_COMMAND)
    } finally {
      await client.$disconnect()
      await bare.drop()
    }
  })

  it('needs a driver with an outbox, and says how to put one in front', async () => {
    const { task } = recordingTask()
    const afterward = instance({ tasks: [task], driver: memory() })
    const error = await prisma
      .$transaction((tx) => afterward.deferIn(tx, task, { orderId: 1 }))
      .catch((err: unknown) => err)
    expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
    expect((error as Error).message).toMatch(/prismaOutbox\(prisma\)\.driver\(memory\(\.\.\.\)\)/)
  })

  it('refuses to start a relay whose listen connection fails, naming the host', async () => {
    const relay = prismaOutbox(prisma, { listen: 'postgres://postgres@127.0.0.1:1/test' }).relay(
      memory(),
    )
    const error = await relay.start().catch((err: unknown) => err)
    expect(error).toBeInstanceOf(AfterwardError)
    expect(error).toMatchObject({ code: 'AFTERWARD_CONFIG_INVALID' })
    expect((error as Error).message).toMatch(/could not LISTEN .*127\.0\.0\.1:1.*poll only/)

    // A worker runs the relay: it does not start either.
    const { task } = recordingTask()
    const outbox = prismaOutbox(prisma, { listen: 'postgres://postgres@127.0.0.1:1/test' })
    const afterward = instance({ tasks: [task], driver: outbox.driver(memory()) })
    await expect(afterward.worker().start()).rejects.toMatchObject({
      code: 'AFTERWARD_CONFIG_INVALID',
    })
  })

  it('refuses bad outbox options and a client that is not Prisma', () => {
    const code = (fn: () => unknown) => {
      try {
        fn()
      } catch (err) {
        return (err as AfterwardError).code
      }
      return undefined
    }
    expect(code(() => prismaOutbox({} as PrismaClient))).toBe('AFTERWARD_CONFIG_INVALID')
    expect(code(() => prismaOutbox(prisma, { batchSize: 0 }))).toBe('AFTERWARD_CONFIG_INVALID')
    expect(code(() => prismaOutbox(prisma, { pollInterval: 1.5 }))).toBe('AFTERWARD_CONFIG_INVALID')
    expect(code(() => prismaOutbox(prisma).driver({} as Driver))).toBe('AFTERWARD_CONFIG_INVALID')
  })
})

// The operator's calls through the outbox driver: a job still in the outbox has not run and
// belongs to the relay; once relayed, the calls act on the broker's job.
describe('operator calls on a pending job', () => {
  it('show it with no errors, and refuse to retry or remove it until the relay stored it', async () => {
    const { task } = recordingTask()
    const outbox = prismaOutbox(prisma, { listen: db.url })
    const afterward = instance({ tasks: [task], driver: outbox.driver(memory()) })
    const { id } = await prisma.$transaction((tx) => afterward.deferIn(tx, task, { orderId: 7 }))
    expect(await afterward.jobs.detail(id)).toMatchObject({ id, state: 'pending', errors: [] })
    // One at a time: a second call made up front could reject before anything awaits it.
    for (const change of [() => afterward.jobs.retry(id), () => afterward.jobs.remove(id)]) {
      await expect(change()).rejects.toMatchObject({
        code: 'AFTERWARD_JOB_STATE_INVALID',
        message: expect.stringMatching(/is pending: it is still in the outbox/),
      })
    }
    await afterward.worker().start() // runs the relay, which stores the job in the broker
    expect((await afterward.jobs.wait(id)).state).toBe('completed')
    await expect(afterward.jobs.retry(id)).rejects.toMatchObject({
      code: 'AFTERWARD_JOB_STATE_INVALID',
    })
    await afterward.jobs.remove(id)
    expect(await afterward.jobs.get(id)).toBeUndefined()
  })
})
