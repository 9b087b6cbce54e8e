// The examples' background work. Each task gets the database (`ctx.db`, from prismaContext) and
// the mailer (`ctx.mail`) from context providers; see services.ts.
import { PermanentError, defineTask, type TaskContext } from '@afterward/core'
import { z } from 'zod'
import type { PrismaClient } from './database.js'
import type { Mailer } from './mailer.js'

/** What the examples' context providers put in `ctx`. */
export interface AppContext {
  db: PrismaClient
  mail: Mailer
}

/**
 * Each task annotates `ctx: Ctx`. An app can instead declare its context once:
 * `declare module '@afterward/core' { interface AfterwardRegister { context: AppContext } }`.
 */
type Ctx = TaskContext<AppContext>

/**
 * Welcome email after a signup. Reads the user in the task (the handler only passes its id),
 * sends, then records when. Retries quickly so that the demo stays short: use seconds in
 * production.
 */
export const sendWelcomeEmail = defineTask({
  name: 'send-welcome-email',
  input: z.object({ userId: z.number().int() }),
  retry: { attempts: 5, backoff: { type: 'exponential', delay: 200 } },
  timeout: 10_000,
  async run({ userId }, ctx: Ctx) {
    const user = await ctx.db.user.findUnique({ where: { id: userId } })
    if (user === null) throw new PermanentError(`user ${userId} does not exist`)
    if (user.welcomeEmailSentAt !== null) return { skipped: 'already sent' } // a retry after a crash
    const sentTo = await ctx.mail.send({
      to: user.email,
      subject: `Welcome, ${user.name}!`,
      text: `Hello ${user.name},\n\nyour account is ready.\n`,
    })
    await ctx.db.user.update({ where: { id: userId }, data: { welcomeEmailSentAt: new Date() } })
    ctx.log.info({ userId, sentTo }, 'welcome email sent')
    return { sentTo }
  },
})

const orderInput = z.object({ orderId: z.number().int() })

/** Order confirmation email; retries come from the route (`POST /orders`). */
export const sendOrderConfirmation = defineTask({
  name: 'send-order-confirmation',
  input: orderInput,
  async run({ orderId }, ctx: Ctx) {
    const order = await ctx.db.order.findUniqueOrThrow({ where: { id: orderId } })
    if (order.confirmationSentAt !== null) return { skipped: 'already sent' }
    const sentTo = await ctx.mail.send({
      to: order.email,
      subject: `Order ${order.key} confirmed`,
      text: `We received your order: ${order.quantity} x ${order.item}.\n`,
    })
    await ctx.db.order.update({ where: { id: orderId }, data: { confirmationSentAt: new Date() } })
    return { sentTo }
  },
})

/** Reserves stock for an order (here: records that it did). */
export const reserveStock = defineTask({
  name: 'reserve-stock',
  input: orderInput,
  async run({ orderId }, ctx: Ctx) {
    await ctx.db.order.update({ where: { id: orderId }, data: { stockReservedAt: new Date() } })
  },
})

/** Refund email: deferred by `POST /orders/:key/refund` before the payment provider fails. */
export const sendRefundEmail = defineTask({
  name: 'send-refund-email',
  input: orderInput,
  async run({ orderId }, ctx: Ctx) {
    const order = await ctx.db.order.findUniqueOrThrow({ where: { id: orderId } })
    await ctx.mail.send({
      to: order.email,
      subject: `Order ${order.key} refunded`,
      text: 'Your money is on its way.\n',
    })
  },
})

/** Every task, for `createAfterward({ tasks })`. */
export const tasks = [sendWelcomeEmail, sendOrderConfirmation, reserveStock, sendRefundEmail]
