// The Express app: routes only. Database, mailer and Afterward come from `services`.
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
import { afterwardMiddleware, deferOptions } from '@afterward/express'
import express, { type ErrorRequestHandler, type Express } from 'express'
import { z } from 'zod'

/**
 * Builds the app on `services`. The middleware answers with the request's id in X-Request-Id:
 * `afterward.jobs.byRequest(id)` finds the jobs it stored.
 *
 * @example
 * const app = buildApp(services)
 * app.listen(3000)
 */
export function buildApp(services: Services): Express {
  const { afterward, db } = services
  const app = express()
  app.use(express.json())
  app.use(afterwardMiddleware({ afterward }))

  app.post('/signup', async (req, res) => {
    const { email, name } = signupBody.parse(req.body)
    // The user and its welcome email in one transaction: both exist, or neither does.
    const { user, job } = await db.prisma.$transaction(async (tx) => {
      const user = await tx.user.create({ data: { email, name } })
      return { user, job: await res.deferIn(tx, sendWelcomeEmail, { userId: user.id }) }
    })
    res.status(201).json({ userId: user.id, jobId: job.id })
  })

  // Every job of this route: 4 attempts 100 ms apart, held 500 ms so that a double-submitted
  // order (same key, see the `key` option below) stores its jobs once.
  const orderJobs = deferOptions({
    retry: { attempts: 4, backoff: { type: 'fixed', delay: 100 } },
    delay: 500,
  })
  app.post('/orders', orderJobs, async (req, res) => {
    const { key, ...data } = orderBody.parse(req.body)
    const existing = await db.prisma.order.findUnique({ where: { key } })
    const order = existing ?? (await db.prisma.order.create({ data: { key, ...data } }))
    const jobs = [
      res.defer(sendOrderConfirmation, { orderId: order.id }, { key: `order-${key}` }),
      res.defer(reserveStock, { orderId: order.id }, { key: `order-${key}` }),
    ]
    res.status(existing ? 200 : 201).json({ orderId: order.id, jobIds: jobs.map((j) => j.id) })
  })

  // Defers the refund email, then the payment provider fails: the request ends in a 502 and
  // its job is dropped, so no one is told about a refund that did not happen.
  app.post('/orders/:key/refund', async (req, res) => {
    const order = await db.prisma.order.findUnique({ where: { key: req.params.key } })
    if (order === null) return void res.status(404).json({ message: 'no such order' })
    const job = res.defer(sendRefundEmail, { orderId: order.id })
    await paymentProvider.refund(order.key)
    res.json({ jobId: job.id })
  })

  // Resends the welcome email. The id is not checked here: the task's schema checks it when
  // the job is deferred (try /users/abc/welcome-email).
  app.post('/users/:id/welcome-email', (req, res) => {
    const job = res.defer(sendWelcomeEmail, { userId: Number(req.params.id) })
    res.status(202).json({ jobId: job.id })
  })

  app.get('/jobs/:id', async (req, res) => {
    const job = await afterward.jobs.get(req.params.id)
    if (job === undefined) res.status(404).json({ message: 'no such job' })
    else res.json(job)
  })
  app.get('/requests/:id/jobs', async (req, res) => {
    res.json(await afterward.jobs.byRequest(req.params.id))
  })

  app.use(errorHandler)
  return app
}

const errorHandler: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
  if (error instanceof z.ZodError)
    return void res.status(400).json({ message: z.prettifyError(error) })
  if (error instanceof AfterwardInputError) {
    return void res.status(400).json({ code: error.code, message: error.message })
  }
  const status = (error as { statusCode?: unknown }).statusCode
  const message = error instanceof Error ? error.message : String(error)
  res.status(typeof status === 'number' ? status : 500).json({ message })
}
