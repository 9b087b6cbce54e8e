// The Fastify app: routes only. Database, mailer and Afterward come from `services`.
import { AfterwardInputError } from '@afterward/core'
import {
  orderBody,
  paymentProvider,
  reserveStock,
  sendOrderConfirmation,
  sendRefundEmail,
  sendWelcomeEmail,
  signupBody,
  type Services,
} from '@afterward/example-shared'
import afterwardPlugin from '@afterward/fastify'
import { afterwardMetrics, metricsPlugin } from '@afterward/prometheus'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { Registry } from 'prom-client'
import { z } from 'zod'

/**
 * Builds the app on `services`. Closing the app closes Afterward (the plugin's `onClose`);
 * `services.close()` closes the database too.
 *
 * @example
 * const app = await buildApp(services)
 * await app.listen({ port: 3000 })
 */
export async function buildApp(services: Services, logger?: Logger): Promise<FastifyInstance> {
  const { afterward, db } = services
  const loggerInstance: FastifyBaseLogger | undefined = logger
  const app = Fastify(loggerInstance === undefined ? {} : { loggerInstance })
  // Jobs carry the request id: the plugin takes the caller's X-Request-Id or makes one, and
  // echoes it in the response of a request that defers.
  await app.register(afterwardPlugin, { afterward })
  // Prometheus metrics of the jobs (and of the worker, when it runs in this process) at
  // GET /metrics; a registry of the app's own, so that several apps can share a process.
  const metrics = afterwardMetrics({ afterward, registry: new Registry() })
  app.addHook('onClose', async () => metrics.close())
  await app.register(metricsPlugin, { registry: metrics.registry })

  app.post('/signup', async (request, reply) => {
    const { email, name } = signupBody.parse(request.body)
    // The user and its welcome email in one transaction: both exist, or neither does.
    const { user, job } = await db.prisma.$transaction(async (tx) => {
      const user = await tx.user.create({ data: { email, name } })
      return { user, job: await reply.deferIn(tx, sendWelcomeEmail, { userId: user.id }) }
    })
    return reply.code(201).send({ userId: user.id, jobId: job.id })
  })

  // Every job of this route: 4 attempts 100 ms apart, held 500 ms so that a double-submitted
  // order (same key, see the `key` option below) stores its jobs once.
  const orderJobs = {
    retry: { attempts: 4, backoff: { type: 'fixed', delay: 100 } },
    delay: 500,
  } as const
  app.post('/orders', { config: { defer: orderJobs } }, async (request, reply) => {
    const { key, ...data } = orderBody.parse(request.body)
    const existing = await db.prisma.order.findUnique({ where: { key } })
    const order = existing ?? (await db.prisma.order.create({ data: { key, ...data } }))
    const jobs = [
      reply.defer(sendOrderConfirmation, { orderId: order.id }, { key: `order-${key}` }),
      reply.defer(reserveStock, { orderId: order.id }, { key: `order-${key}` }),
    ]
    return reply
      .code(existing ? 200 : 201)
      .send({ orderId: order.id, jobIds: jobs.map((j) => j.id) })
  })

  // Defers the refund email, then the payment provider fails: the request ends in a 502 and
  // its job is dropped, so no one is told about a refund that did not happen.
  app.post<{ Params: { key: string } }>('/orders/:key/refund', async (request, reply) => {
    const order = await db.prisma.order.findUnique({ where: { key: request.params.key } })
    if (order === null) return reply.code(404).send({ message: 'no such order' })
    const job = reply.defer(sendRefundEmail, { orderId: order.id })
    await paymentProvider.refund(order.key)
    return { jobId: job.id }
  })

  // Resends the welcome email. The id is not checked here: the task's schema checks it when
  // the job is deferred (try /users/abc/welcome-email).
  app.post<{ Params: { id: string } }>('/users/:id/welcome-email', async (request, reply) => {
    const job = reply.defer(sendWelcomeEmail, { userId: Number(request.params.id) })
    return reply.code(202).send({ jobId: job.id })
  })

  app.get<{ Params: { id: string } }>('/jobs/:id', async (request, reply) => {
    const job = await afterward.jobs.get(request.params.id)
    return job ?? reply.code(404).send({ message: 'no such job' })
  })
  app.get<{ Params: { id: string } }>('/requests/:id/jobs', (request) =>
    afterward.jobs.byRequest(request.params.id),
  )

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof z.ZodError)
      return reply.code(400).send({ message: z.prettifyError(error) })
    if (error instanceof AfterwardInputError)
      return reply.code(400).send({ code: error.code, message: error.message })
    throw error
  })
  return app
}
