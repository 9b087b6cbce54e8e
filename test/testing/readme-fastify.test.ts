// The Fastify example of "Testing your tasks" (packages/core/README.md), as it is written there:
// a real Fastify app through inject(), a real Prisma client on a test database, testDriver().
import Fastify from 'fastify'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { z } from 'zod'
import afterwardPlugin from '@afterward/fastify'
import { createAfterward, defineTask, type Afterward, type TaskContext } from '@afterward/core'
import { testDriver } from '@afterward/core/testing'
import { prismaContext } from '@afterward/prisma'
import { silentLogger } from '../support/afterward.js'
import { createPrisma, createTestDatabase, type TestDatabase } from '../support/pg.js'
import type { PrismaClient } from '../support/pg.js'

// --- the app under test ---------------------------------------------------------------------
const mailer = { outbox: [] as string[], failNext: 0 }

const sendWelcomeEmail = defineTask({
  name: 'send-welcome-email',
  input: z.object({ userId: z.number() }),
  retry: { attempts: 3, backoff: { type: 'fixed', delay: 60_000, jitter: 0 } },
  async run(input, ctx: TaskContext<{ db: PrismaClient }>) {
    const user = await ctx.db.user.findUniqueOrThrow({ where: { id: input.userId } })
    if (mailer.failNext-- > 0) throw new Error('SMTP server unavailable')
    mailer.outbox.push(user.email)
  },
})

async function buildApp(afterward: Afterward, prisma: PrismaClient) {
  const app = Fastify()
  await app.register(afterwardPlugin, { afterward })
  app.post('/signup', async (request, reply) => {
    const { email, plan } = request.body as { email: string; plan: string }
    const user = await prisma.user.create({ data: { email } })
    reply.defer(sendWelcomeEmail, { userId: user.id })
    if (plan !== 'free') return reply.code(402).send({ error: 'payment required' })
    return { id: user.id }
  })
  return app
}

// --- the tests --------------------------------------------------------------------------------
let database: TestDatabase
let prisma: PrismaClient
const driver = testDriver()
let afterward: Afterward

beforeAll(async () => {
  database = await createTestDatabase()
  prisma = createPrisma(database.url)
  afterward = createAfterward({
    tasks: [sendWelcomeEmail],
    driver,
    context: { db: prismaContext(prisma) },
    logger: silentLogger,
  })
  await afterward.worker().start()
})
afterAll(async () => {
  await afterward.close()
  await prisma.$disconnect()
  await database.drop()
})
beforeEach(() => {
  driver.clear()
  mailer.outbox = []
  mailer.failNext = 0
})

it('defers the welcome email for the new user, and sends it', async () => {
  const app = await buildApp(afterward, prisma)
  const res = await app.inject({
    method: 'POST',
    url: '/signup',
    payload: { email: 'ada@example.com', plan: 'free' },
  })
  expect(res.statusCode).toBe(200)
  const requestId = res.headers['x-request-id'] as string

  driver.assertDeferred(sendWelcomeEmail, { requestId, input: { userId: res.json().id } })
  expect(mailer.outbox).toEqual([]) // recorded, not run

  const finished = await driver.runAll() // the real worker, with ctx.db on the test database
  expect(finished).toMatchObject([{ task: 'send-welcome-email', state: 'completed' }])
  expect(mailer.outbox).toEqual(['ada@example.com'])
})

it('defers nothing when the request fails', async () => {
  const app = await buildApp(afterward, prisma)
  const res = await app.inject({
    method: 'POST',
    url: '/signup',
    payload: { email: 'bob@example.com', plan: 'gold' },
  })
  expect(res.statusCode).toBe(402)
  driver.assertNothingDeferred({ requestId: res.headers['x-request-id'] as string })
})

it('retries after the backoff, on the test clock', async () => {
  mailer.failNext = 1
  const app = await buildApp(afterward, prisma)
  await app.inject({
    method: 'POST',
    url: '/signup',
    payload: { email: 'cy@example.com', plan: 'free' },
  })

  await driver.runDue() // attempt 1 fails: the retry waits 60 s on the test clock
  const [job] = driver.jobs({ task: sendWelcomeEmail })
  expect(job).toMatchObject({ state: 'delayed', attemptsMade: 1 })
  expect(job?.lastError?.message).toBe('SMTP server unavailable')
  expect(job!.runAt.getTime() - driver.clock.now()).toBe(60_000)

  driver.clock.advance(60_000)
  await driver.runDue()
  expect(driver.jobs({ task: sendWelcomeEmail })).toMatchObject([
    { state: 'completed', attemptsMade: 2 },
  ])
  expect(mailer.outbox).toEqual(['cy@example.com'])
})
