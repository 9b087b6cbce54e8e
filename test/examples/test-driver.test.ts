// The examples' apps under testDriver() (@afterward/core/testing): the same routes, tasks and
// mailbox as `pnpm demo`, on PostgreSQL, with jobs recorded and then run by the test, and the
// daily digest run on the test clock.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { testDriver } from '@afterward/core/testing'
import { buildApp as buildExpressApp } from '../../examples/express-signup/src/app.js'
import { buildApp as buildFastifyApp } from '../../examples/fastify-signup/src/app.js'
import {
  createServices,
  loadSettings,
  sendRefundEmail,
  sendWelcomeEmail,
  type Services,
} from '../../examples/shared/src/index.js'
import { silentLogger } from '../support/afterward.js'
import { adminUrl } from '../support/pg.js'

/** An empty database on the local PostgreSQL (the example migrates its own tables). */
async function emptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `aw_example_${randomBytes(6).toString('hex')}`
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  await admin(`CREATE DATABASE "${name}"`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  }
}

type Post = (
  path: string,
  body: unknown,
) => Promise<{ status: number; requestId: string; body: unknown }>

/** One example app on `services`, and how to POST to it. */
const apps: Record<
  string,
  (services: Services) => Promise<{ post: Post; close(): Promise<void> }>
> = {
  async 'fastify-signup'(services) {
    const app = await buildFastifyApp(services)
    return {
      async post(url, payload) {
        const res = await app.inject({ method: 'POST', url, payload: payload as object })
        const requestId = res.headers['x-request-id'] as string
        return { status: res.statusCode, requestId, body: res.json() }
      },
      close: () => app.close(),
    }
  },
  async 'express-signup'(services) {
    const server = buildExpressApp(services).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return {
      async post(path, payload) {
        const res = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        })
        const requestId = res.headers.get('x-request-id')!
        return { status: res.status, requestId, body: await res.json() }
      },
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    }
  },
}

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe.each(Object.keys(apps))('%s under testDriver()', (example) => {
  it('records the welcome email of a signup, then sends it through retries on the test clock', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'afterward-example-'))
    dirs.push(dataDir)
    const driver = testDriver()
    // PostgreSQL, and the local mailbox that fails each message twice.
    const database = await emptyDatabase()
    const settings = loadSettings({}, { dataDir, databaseUrl: database.url, mailFailures: 2 })
    const services = await createServices(settings, silentLogger, { driver })
    const app = await apps[example]!(services)
    try {
      await services.startWorker()
      const signup = await app.post('/signup', { email: 'ada@example.com', name: 'Ada' })
      expect(signup.status).toBe(201)
      const { userId } = signup.body as { userId: number }
      // The route writes the job in its transaction (deferIn): the worker's outbox relay hands
      // it to the driver once the transaction committed.
      await expect.poll(() => driver.jobs({ task: sendWelcomeEmail })).toHaveLength(1)
      driver.assertDeferred(sendWelcomeEmail, { requestId: signup.requestId, input: { userId } })
      expect(readdirSync(join(dataDir, 'mailbox'), { recursive: true })).toEqual([])

      const start = driver.clock.now()
      const [job] = await driver.runAll()
      expect(job).toMatchObject({ task: 'send-welcome-email', state: 'completed', attemptsMade: 3 })
      // Two failed sends, retried after the task's exponential backoff (200 ms, then 400 ms,
      // each up to 20% shorter), on the test clock rather than in real time.
      expect(driver.clock.now() - start).toBeGreaterThanOrEqual(480)
      expect(driver.clock.now() - start).toBeLessThanOrEqual(600)
      const user = await services.db.prisma.user.findUniqueOrThrow({ where: { id: userId } })
      expect(user.welcomeEmailSentAt).toBeInstanceOf(Date)

      // The refund route fails (the payment provider declines): its job is never recorded.
      await app.post('/orders', { key: 'o-1', email: 'ada@example.com', item: 'book', quantity: 1 })
      const refund = await app.post('/orders/o-1/refund', {})
      expect(refund.status).toBe(502)
      driver.assertNothingDeferred({ requestId: refund.requestId })
      driver.assertNothingDeferred({ task: sendRefundEmail })

      // The daily digest (07:00 in Berlin) runs when the test clock gets there, through the
      // same flaky mailbox: it reports the day's signup, Ada, after two retries.
      const [digest] = await services.afterward.schedules.list()
      expect(digest).toMatchObject({ key: 'send-daily-digest:daily', tz: 'Europe/Berlin' })
      const tick = digest!.nextRunAt!
      await driver.runUntil(tick.getTime() + 60_000)
      expect(driver.jobs({ task: 'send-daily-digest' })).toMatchObject([
        { state: 'completed', attemptsMade: 3, schedule: { id: 'daily', tick } },
      ])
      const mails = readdirSync(join(dataDir, 'mailbox')).map((name) =>
        readFileSync(join(dataDir, 'mailbox', name), 'utf8'),
      )
      expect(mails.filter((m) => m.includes('Subject: Daily digest: 1 new signup'))).toEqual([
        expect.stringContaining('Ada <ada@example.com>'),
      ])
    } finally {
      await app.close()
      await services.close()
      await database.drop()
    }
  })
})
