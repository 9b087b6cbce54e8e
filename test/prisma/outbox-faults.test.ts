// The outbox under faults, with real processes: an app killed with SIGKILL right after its
// commits, a broker (a private Redis) stopped for 10 s while transactions keep committing, and
// two relays racing over one table. Every committed job runs, none twice, none is left behind.
import { fork } from 'node:child_process'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import { bullmq, type Afterward, type Producer } from '@afterward/core'
import { prismaOutbox } from '@afterward/prisma'
import { deferred, instance, silentLogger } from '../support/afterward.js'
import { createOutboxDatabase, outboxRows } from '../support/outbox.js'
import { createPrisma, type PrismaClient, type TestDatabase } from '../support/pg.js'
import { redisUrl, startRedisServer, uniqueQueueName } from '../support/redis.js'
import { receiptRuns, sendReceipt } from './fixtures/outbox-tasks.js'

const fixture = fileURLToPath(new URL('./fixtures/outbox-app.ts', import.meta.url))

let db: TestDatabase
let prisma: PrismaClient

beforeAll(async () => {
  db = await createOutboxDatabase()
  prisma = createPrisma(db.url, { max: 8 })
})

afterAll(async () => {
  await prisma?.$disconnect()
  await db?.drop()
})

beforeEach(async () => {
  receiptRuns.clear()
  await prisma.$executeRawUnsafe('TRUNCATE "Order", afterward_outbox')
})

/** Commits an order and its receipt job in one transaction; returns the order id. */
async function order(afterward: Pick<Afterward, 'deferIn'>): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const created = await tx.order.create({ data: { userId: 1, total: 1 } })
    await afterward.deferIn(tx, sendReceipt, { orderId: created.id })
    return created.id
  })
}

/**
 * Resolves once `count` receipts ran in this process and the broker has them all completed
 * (`completed` is reported as the attempt ends, before the broker records it).
 */
async function receiptsRan(count: number, afterward: Afterward): Promise<void> {
  const ids: string[] = []
  const done = deferred()
  const off = afterward.on('completed', (e) => {
    ids.push(e.jobId)
    if (ids.length >= count) done.resolve()
  })
  await done.promise
  off()
  await Promise.all(ids.map((id) => afterward.jobs.wait(id, { timeout: 10_000 })))
}

describe('outbox under faults', () => {
  it('runs every job an app committed before it was killed with SIGKILL, once the relay is up', async () => {
    const prefix = uniqueQueueName('outbox-kill')
    const child = fork(fixture, [db.url, redisUrl, prefix], {
      execArgv: ['--import', 'tsx', '--conditions=source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    onTestFinished(() => void child.kill('SIGKILL'))
    const reported: number[] = []
    const enough = deferred()
    child.on('message', (m: { type: string; orderId: number }) => {
      reported.push(m.orderId)
      if (reported.length === 20) enough.resolve()
    })
    child.once('exit', (code) => enough.reject(new Error(`app exited with ${code}`)))
    await enough.promise
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited

    // What the app committed (it may have committed one more than it could report).
    const orders = (await prisma.order.findMany({ select: { id: true } })).map((o) => o.id)
    expect(orders.length).toBeGreaterThanOrEqual(20)
    expect(orders).toEqual(expect.arrayContaining(reported))
    expect(await outboxRows(db.url)).toBe(orders.length) // no relay ran in the app

    const afterward = instance({
      tasks: [sendReceipt],
      driver: prismaOutbox(prisma, { listen: db.url }).driver(
        bullmq({ connection: redisUrl, prefix }),
      ),
    })
    const ran = receiptsRan(orders.length, afterward)
    await afterward.worker().start()
    await ran
    expect(await outboxRows(db.url)).toBe(0)
    const [queue] = await afterward.jobs.counts({ queue: 'default' })
    expect(queue!.counts).toMatchObject({ completed: orders.length, waiting: 0, active: 0 })
    expect([...receiptRuns.keys()].sort((a, b) => a - b)).toEqual(orders.sort((a, b) => a - b))
    expect([...receiptRuns.values()].every((n) => n === 1)).toBe(true)
  })

  it('keeps committing while the broker is down for 10 s, then runs all 1,000 jobs, none twice', async () => {
    // appendonly: what Redis stored before it stopped is still there when it is back.
    const redis = await startRedisServer({ appendonly: 'yes' })
    onTestFinished(() => redis.stop())
    const prefix = uniqueQueueName('outbox-down')
    const lines: { msg: string; waiting?: number; oldestMs?: number }[] = []
    const warned = deferred()
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          const line = JSON.parse(chunk.toString('utf8')) as (typeof lines)[number]
          lines.push(line)
          if (line.msg.includes('could not move jobs to the broker') && line.waiting! > 0)
            warned.resolve()
          callback()
        },
      }),
    )
    const outbox = prismaOutbox(prisma, { listen: db.url, pollInterval: 200 })
    const afterward = instance({
      tasks: [sendReceipt],
      driver: outbox.driver(bullmq({ connection: redis.url, prefix })),
    })
    // A relay on its own: the worker starts once Redis is back, so that every run is a first
    // delivery and "none twice" is about the outbox alone.
    const relay = outbox.relay(bullmq({ connection: redis.url, prefix }), { logger })
    await relay.start()
    onTestFinished(() => relay.close())

    const total = 1_000
    const stopAt = 200
    let committed = 0
    let stopped: Promise<void> | undefined
    const stoppedAt = deferred<number>()
    const worker = async (): Promise<void> => {
      while (committed < total) {
        committed += 1
        if (committed === stopAt) {
          stopped = redis.stop({ keepData: true }).then(() => stoppedAt.resolve(Date.now()))
          await stopped
        }
        await order(afterward)
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    await stopped
    // Every commit succeeded with the broker down; the relay says how far behind it is.
    await warned.promise
    const lag = await relay.lag()
    expect(lag.waiting).toBeGreaterThan(0)
    expect(lag.oldestMs).toBeGreaterThan(0)
    expect(await prisma.order.count()).toBe(total)

    const downFor = 10_000 - (Date.now() - (await stoppedAt.promise))
    if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor)) // the outage itself
    await redis.restart()
    const ran = receiptsRan(total, afterward)
    await afterward.worker({ concurrency: 20 }).start()
    await ran
    await relay.close()
    expect(await outboxRows(db.url)).toBe(0)
    const [queue] = await afterward.jobs.counts({ queue: 'default' })
    expect(queue!.counts).toMatchObject({ completed: total, waiting: 0, active: 0, failed: 0 })
    expect(receiptRuns.size).toBe(total)
    expect([...receiptRuns.values()].every((n) => n === 1)).toBe(true)
  }, 60_000)

  it.each([
    ['Redis', () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('outbox-dies') })],
    [
      'PostgreSQL',
      () => bullmq({ postgres: { connectionString: db.url, schema: 'outbox_dies', max: 3 } }),
    ],
  ])(
    'stores a batch once when a relay dies between storing it and deleting its rows (BullMQ on %s)',
    async (_name, makeBroker) => {
      const broker = makeBroker()
      const outbox = prismaOutbox(prisma)
      const afterward = instance({ tasks: [sendReceipt], driver: outbox.driver(broker) })
      const ids = await prisma.$transaction(async (tx) => {
        const jobs = []
        for (let orderId = 1; orderId <= 10; orderId++) {
          jobs.push((await afterward.deferIn(tx, sendReceipt, { orderId })).id)
        }
        return jobs
      })
      // The first relay stores the batch, then dies before it deletes the rows.
      let handedOver = 0
      const dying: Producer = {
        enqueue: async (records, signal) => {
          await broker.enqueue(records, signal)
          handedOver += records.length
          throw new Error('relay process died')
        },
      }
      const first = outbox.relay(dying, { logger: silentLogger })
      await first.start()
      while (handedOver < ids.length) await new Promise((resolve) => setImmediate(resolve))
      await first.close()
      expect(await outboxRows(db.url)).toBe(ids.length)

      // The next relay stores the same rows again, under the same ids; then a worker runs them.
      const second = outbox.relay(broker, { logger: silentLogger })
      const relayed = deferred()
      second.onRelayed(() => relayed.resolve())
      await second.start()
      await relayed.promise
      await second.close()
      expect(await outboxRows(db.url)).toBe(0)
      const [stored] = await afterward.jobs.counts({ queue: 'default' })
      expect(stored!.counts).toMatchObject({ waiting: ids.length, completed: 0 })
      const ran = receiptsRan(ids.length, afterward)
      await afterward.worker().start()
      await ran
      expect(await outboxRows(db.url)).toBe(0)
      const [queue] = await afterward.jobs.counts({ queue: 'default' })
      expect(queue!.counts).toMatchObject({ completed: ids.length, waiting: 0, delayed: 0 })
      expect([...receiptRuns.values()]).toEqual(ids.map(() => 1))
      for (const id of ids)
        expect(await afterward.jobs.get(id)).toMatchObject({ state: 'completed' })
    },
  )

  it('lets two relays share 5,000 rows: each row stored once, none left behind', async () => {
    const prefix = uniqueQueueName('outbox-two')
    const outbox = prismaOutbox(prisma, { listen: db.url })
    const afterward = instance({
      tasks: [sendReceipt],
      driver: outbox.driver(bullmq({ connection: redisUrl, prefix })),
    })
    const total = 5_000
    // 50 transactions of 100 jobs, four at a time.
    const batches = Array.from({ length: 50 }, (_, b) => b)
    const commit = async (): Promise<void> => {
      for (let b = batches.shift(); b !== undefined; b = batches.shift()) {
        await prisma.$transaction(async (tx) => {
          for (let i = 0; i < 100; i++) {
            await afterward.deferIn(tx, sendReceipt, { orderId: b * 100 + i })
          }
        })
      }
    }
    await Promise.all([commit(), commit(), commit(), commit()])
    expect(await outboxRows(db.url)).toBe(total)

    // Two relays, each counting what it hands to the broker.
    const broker = bullmq({ connection: redisUrl, prefix })
    onTestFinished(() => broker.close())
    const stored: string[][] = [[], []]
    const everything = deferred()
    const relays = stored.map((ids) => {
      const counting: Producer = {
        enqueue: async (records, signal) => {
          const results = await broker.enqueue(records, signal)
          ids.push(...records.map((r) => r.id))
          if (stored[0]!.length + stored[1]!.length >= total) everything.resolve()
          return results
        },
      }
      return outbox.relay(counting, { logger: silentLogger })
    })
    await Promise.all(relays.map((r) => r.start()))
    await everything.promise
    await Promise.all(relays.map((r) => r.close()))

    const all = [...stored[0]!, ...stored[1]!]
    expect(all).toHaveLength(total)
    expect(new Set(all).size).toBe(total)
    expect(stored[0]!.length).toBeGreaterThan(0)
    expect(stored[1]!.length).toBeGreaterThan(0)
    expect(await outboxRows(db.url)).toBe(0)
    const [queue] = await afterward.jobs.counts({ queue: 'default' })
    expect(queue!.counts.waiting).toBe(total)
  }, 60_000)
})
