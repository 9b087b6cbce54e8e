// A job deferred in a transaction (`deferIn`, through @afterward/prisma's outbox) and not yet
// relayed to the broker: the dashboard shows it as pending, and offers no Retry or Remove.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memory } from '@afterward/core'
import { createDashboard } from '@afterward/dashboard'
import { prismaOutbox } from '@afterward/prisma'
import { instance } from '../../../test/support/afterward.js'
import { createOutboxDatabase } from '../../../test/support/outbox.js'
import { createPrisma, type PrismaClient, type TestDatabase } from '../../../test/support/pg.js'
import { flaky } from './fixtures.js'

let db: TestDatabase
let prisma: PrismaClient
beforeAll(async () => {
  db = await createOutboxDatabase()
  prisma = createPrisma(db.url, { max: 2 })
})
afterAll(async () => {
  await prisma?.$disconnect()
  await db?.drop()
})

describe('a job still in the outbox', () => {
  it('shows as pending on the request and job pages, without Retry or Remove', async () => {
    const afterward = instance({ tasks: [flaky], driver: prismaOutbox(prisma).driver(memory()) })
    // No worker, so no relay: the committed job stays in the outbox.
    const { id } = await prisma.$transaction((tx) =>
      afterward.scope({ requestId: 'req-pending' }).deferIn(tx, flaky, { to: 'a@b.c', note: 'n' }),
    )
    const dashboard = createDashboard({ afterward, auth: false })
    const get = (url: string) =>
      dashboard.handle({ method: 'GET', base: '', url, headers: {}, body: undefined, raw: null })

    const request = await get('/requests/req-pending')
    expect(request.status).toBe(200)
    expect(request.body).toContain('1 job: 1 pending')
    expect(request.body).toContain('<span class="state state-pending">pending</span>')
    const job = await get(`/jobs/${id}`)
    expect(job.status).toBe(200)
    expect(job.body).toContain('<span class="state state-pending">pending</span>')
    expect(job.body).not.toContain('/retry"')
    expect(job.body).not.toContain('/remove"')
    expect(job.body).toContain('<main data-live>') // reloads until the relay moved it
  })
})
