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

const DAY_MS = 24 * 60 * 60 * 1_000

/**
 * The team's daily digest: the signups of the day, every morning at 07:00 Berlin time, as one
 * email (none on a day without signups). A schedule's run is an ordinary job: it retries, gets
 * `ctx.db` and `ctx.mail`, and knows its tick (`ctx.job.schedule.tick`), which bounds the period
 * it reports on, so that a late run still reports the right day. `every` (ms) replaces the cron
 * schedule: `pnpm demo` runs it every second, with a period of one second.
 */
export function dailyDigest(every?: number) {
  return defineTask({
    name: 'send-daily-digest',
    input: z.object({ to: z.email(), periodMs: z.number().int().positive() }),
    retry: { attempts: 5, backoff: { type: 'exponential', delay: 200 } },
    schedule:
      every === undefined
        ? {
            id: 'daily',
            cron: '0 7 * * *',
            tz: 'Europe/Berlin',
            input: { to: 'team@example.com', periodMs: DAY_MS },
          }
        : { id: 'daily', every, input: { to: 'team@example.com', periodMs: every } },
    async run({ to, periodMs }, ctx: Ctx) {
      const until = ctx.job.schedule?.tick ?? new Date()
      const since = new Date(until.getTime() - periodMs)
      const users = await ctx.db.user.findMany({
        where: { createdAt: { gte: since, lt: until } },
        orderBy: { id: 'asc' },
      })
      if (users.length === 0) return { sent: false }
      const sentTo = await ctx.mail.send({
        to,
        subject: `Daily digest: ${users.length} new signup${users.length === 1 ? '' : 's'}`,
        text: users.map((u) => `${u.name} <${u.email}>`).join('\n') + '\n',
      })
      return { sentTo }
    },
  })
}

/** The tasks that routes defer, for `createAfterward({ tasks })` (with the digest). */
export const tasks = [sendWelcomeEmail, sendOrderConfirmation, reserveStock, sendRefundEmail]
