// reply.deferIn / res.deferIn: a route writes a job inside its own Prisma transaction, with the
// request's id and route options. The job exists if and only if the transaction commits, whatever
// status the route then answers. Real Fastify and Express servers, a real Prisma client.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { z } from 'zod'
import { defineTask, memory, type Afterward, type DeferInFn } from '@afterward/core'
import { afterwardMiddleware, deferOptions } from '@afterward/express'
import afterwardPlugin from '@afterward/fastify'
import { prismaOutbox } from '@afterward/prisma'
import { instance } from '../support/afterward.js'
import { createOutboxDatabase } from '../support/outbox.js'
import { createPrisma, type PrismaClient, type TestDatabase } from '../support/pg.js'

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

const sendReceipt = defineTask({
  name: 'send-receipt',
  input: z.object({ orderId: z.number().int() }),
  run: () => {},
})

/**
 * The route of both frameworks: creates an order and defers its receipt in one transaction,
 * then rolls back when asked to, and answers `status`.
 */
async function placeOrder(
  deferIn: DeferInFn,
  body: { rollback?: boolean },
): Promise<{ jobId: string | undefined }> {
  let jobId: string | undefined
  await prisma
    .$transaction(async (tx) => {
      const order = await tx.order.create({ data: { userId: 1, total: 5 } })
      jobId = (await deferIn(tx, sendReceipt, { orderId: order.id })).id
      if (body.rollback) throw new Error('out of stock')
    })
    .catch((err: unknown) => {
      if (!(body.rollback && err instanceof Error && err.message === 'out of stock')) throw err
    })
  return { jobId }
}

type Post = (body: object, requestId: string) => Promise<{ status: number; jobId: string }>

const servers: [string, (afterward: Afterward) => Promise<Post>][] = [
  [
    'Fastify',
    async (afterward) => {
      const app = Fastify()
      await app.register(afterwardPlugin, { afterward, closeOnShutdown: false })
      app.post<{ Body: { status: number; rollback?: boolean } }>(
        '/orders',
        { config: { defer: { retry: { attempts: 3 } } } },
        async (request, reply) => {
          const { jobId } = await placeOrder(reply.deferIn.bind(reply), request.body)
          return reply.code(request.body.status).send({ jobId })
        },
      )
      onTestFinished(() => app.close())
      return async (body, requestId) => {
        const res = await app.inject({
          method: 'POST',
          url: '/orders',
          payload: body,
          headers: { 'x-request-id': requestId },
        })
        return { status: res.statusCode, jobId: res.json<{ jobId: string }>().jobId }
      }
    },
  ],
  [
    'Express',
    async (afterward) => {
      const app = express()
      app.use(express.json())
      app.use(afterwardMiddleware({ afterward }))
      app.post('/orders', deferOptions({ retry: { attempts: 3 } }), async (req, res) => {
        const body = req.body as { status: number; rollback?: boolean }
        const { jobId } = await placeOrder(res.deferIn, body)
        res.status(body.status).json({ jobId })
      })
      const server = app.listen(0, '127.0.0.1')
      await once(server, 'listening')
      onTestFinished(() => void server.close())
      const { port } = server.address() as AddressInfo
      return async (body, requestId) => {
        const res = await fetch(`http://127.0.0.1:${port}/orders`, {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        })
        return { status: res.status, jobId: ((await res.json()) as { jobId: string }).jobId }
      }
    },
  ],
]

describe.each(servers)('%s: deferIn in a route', (name, serve) => {
  it('writes the job in the route’s transaction with the request id and route options', async () => {
    const afterward = instance({
      tasks: [sendReceipt],
      driver: prismaOutbox(prisma).driver(memory()),
    })
    const post = await serve(afterward)
    // The outbox is shared by both frameworks' tests: request ids keep them apart.
    const id = (what: string) => `${name}-${what}`

    const created = await post({ status: 201 }, id('created'))
    expect(created.status).toBe(201)
    expect(await afterward.jobs.get(created.jobId)).toMatchObject({
      state: 'pending',
      requestId: id('created'),
      maxAttempts: 3,
    })

    // Committed, then the route answers an error: the job exists, as the order does.
    const conflict = await post({ status: 409 }, id('conflict'))
    expect(conflict.status).toBe(409)
    expect(await afterward.jobs.byRequest(id('conflict'))).toMatchObject([
      { id: conflict.jobId, state: 'pending' },
    ])

    // Rolled back, then the route answers a success: no job, as there is no order.
    const rolledBack = await post({ status: 200, rollback: true }, id('rolled-back'))
    expect(rolledBack.status).toBe(200)
    expect(rolledBack.jobId).toEqual(expect.any(String))
    expect(await afterward.jobs.get(rolledBack.jobId)).toBeUndefined()
    expect(await afterward.jobs.byRequest(id('rolled-back'))).toEqual([])
  })
})
