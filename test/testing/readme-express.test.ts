// The Express example of "Testing your tasks" (packages/core/README.md), as it is written there:
// a real Express server on a free port, a real Prisma client on a test database, testDriver().
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { afterwardMiddleware } from '@afterward/express'
import { createAfterward, defineTask, type Afterward, type TaskContext } from '@afterward/core'
import { testDriver } from '@afterward/core/testing'
import { prismaContext } from '@afterward/prisma'
import { silentLogger } from '../support/afterward.js'
import { createPrisma, createTestDatabase, type TestDatabase } from '../support/pg.js'
import type { PrismaClient } from '../support/pg.js'

// --- the app under test ---------------------------------------------------------------------
const shipOrder = defineTask({
  name: 'ship-order',
  async run(input: { orderId: number }, ctx: TaskContext<{ db: PrismaClient }>) {
    const order = await ctx.db.order.findUniqueOrThrow({ where: { id: input.orderId } })
    await ctx.db.note.create({ data: { jobId: ctx.job.id, body: `shipped ${order.id}` } })
  },
})

function buildApp(afterward: Afterward, prisma: PrismaClient) {
  const app = express()
  app.use(express.json())
  app.use(afterwardMiddleware({ afterward }))
  app.post('/orders', async (req, res) => {
    const { userId, total } = req.body as { userId: number; total: number }
    const order = await prisma.order.create({ data: { userId, total } })
    res.defer(shipOrder, { orderId: order.id }, { delay: 60 * 60_000 })
    if (total <= 0) return void res.status(422).json({ error: 'empty order' })
    res.status(201).json({ id: order.id })
  })
  return app
}

// --- the tests --------------------------------------------------------------------------------
let database: TestDatabase
let prisma: PrismaClient
const driver = testDriver()
let afterward: Afterward
let url: string
let close: () => void

beforeAll(async () => {
  database = await createTestDatabase()
  prisma = createPrisma(database.url)
  afterward = createAfterward({
    tasks: [shipOrder],
    driver,
    context: { db: prismaContext(prisma) },
    logger: silentLogger,
  })
  await afterward.worker().start()
  const server = buildApp(afterward, prisma).listen(0, '127.0.0.1')
  await once(server, 'listening')
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = () => server.close()
})
afterAll(async () => {
  close()
  await afterward.close()
  await prisma.$disconnect()
  await database.drop()
})
beforeEach(() => driver.clear())

const post = (body: unknown) =>
  fetch(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

it('ships the order an hour later', async () => {
  const res = await post({ userId: 1, total: 30 })
  expect(res.status).toBe(201)
  const { id } = (await res.json()) as { id: number }
  const job = driver.assertDeferred(shipOrder, {
    requestId: res.headers.get('x-request-id')!,
    input: { orderId: id },
    options: { delay: 3_600_000 },
  })

  expect(await driver.runDue()).toEqual([]) // not due yet
  driver.clock.advance(3_600_000)
  await driver.runDue()
  expect(await afterward.jobs.get(job.id)).toMatchObject({ state: 'completed' })
  expect(await prisma.note.findUnique({ where: { jobId: job.id } })).toMatchObject({
    body: `shipped ${id}`,
  })
})

it('ships nothing when the order is refused', async () => {
  const res = await post({ userId: 1, total: 0 })
  expect(res.status).toBe(422)
  driver.assertNothingDeferred({ requestId: res.headers.get('x-request-id')! })
  driver.assertNothingDeferred({ task: shipOrder })
})
