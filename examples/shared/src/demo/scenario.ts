// The scripted requests of `pnpm demo` and what must have happened after each.
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Afterward, JobInfo } from '@afterward/core'
import type { Services } from '../services.js'
import { send, type Exchange } from './http.js'
import type { Report } from './report.js'

/** The .eml files of the mailbox whose subject contains `subject`. */
function mailsAbout(mailbox: string | undefined, subject: string): string[] {
  if (mailbox === undefined) return []
  return readdirSync(mailbox)
    .filter((name) => name.endsWith('.eml'))
    .map((name) => join(mailbox, name))
    .filter((file) => /^Subject: (.*)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.includes(subject))
    .map((file) => relative(process.cwd(), file))
}

/**
 * Runs every step against the app at `url` and records the outcomes in `report`. `tag` makes
 * the email and order key unique in a database that earlier runs used (`--use-env`). Resolves
 * with the order's request id, whose jobs the demo shows through the CLI at the end.
 *
 * @example
 * await runScenario(app.url, services, report, '')
 */
export async function runScenario(
  url: string,
  services: Services,
  report: Report,
  tag: string,
): Promise<string> {
  const { afterward, db, mailer, settings } = services
  const digests = watchDigests(afterward)
  const flakyAttempts = mailer.mailbox === undefined ? 1 : settings.mailFailures + 1
  const ids = (exchange: Exchange): string[] =>
    Array.isArray(exchange.body['jobIds'])
      ? (exchange.body['jobIds'] as string[])
      : [String(exchange.body['jobId'])]

  // 1. Signup: the welcome email fails on the flaky transport, is retried, then delivered.
  const signup = await send(url, 'POST', '/signup', { email: `ada${tag}@example.com`, name: 'Ada' })
  report.request(1, signup, 'creates the user and its send-welcome-email job in one transaction')
  report.check(signup.status === 201, 'user created (201)')
  const welcome = await afterward.jobs.wait(ids(signup)[0]!)
  report.job(welcome)
  report.check(
    welcome.state === 'completed' && welcome.attemptsMade === flakyAttempts,
    `welcome email retried and delivered: completed on attempt ${welcome.attemptsMade} of ${welcome.maxAttempts}`,
  )
  const user = await db.prisma.user.findUnique({ where: { email: `ada${tag}@example.com` } })
  report.check(
    user?.welcomeEmailSentAt != null,
    `user.welcomeEmailSentAt recorded by the task in its Prisma context`,
  )
  if (mailer.mailbox !== undefined) {
    const mails = mailsAbout(mailer.mailbox, 'Welcome, Ada')
    report.check(
      mails.length === 1,
      `one welcome email in the mailbox: ${mails.join(', ') || 'none'}`,
    )
  }

  // 2-3. An order, then the same order again (a double submit): its jobs are stored once.
  const order = {
    key: `order-1001${tag}`,
    email: `grace${tag}@example.com`,
    item: 'notebook',
    quantity: 2,
  }
  const first = await send(url, 'POST', '/orders', order)
  const again = await send(url, 'POST', '/orders', order)
  report.request(
    2,
    first,
    `defers send-order-confirmation and reserve-stock (route retries, key ${order.key})`,
  )
  report.check(first.status === 201, 'order created (201)')
  const orderJobs = await Promise.all(ids(first).map((id) => afterward.jobs.wait(id)))
  orderJobs.forEach((job) => report.job(job))
  report.check(
    orderJobs.length === 2 &&
      orderJobs.every((job) => job.state === 'completed' && job.maxAttempts === 4),
    "both jobs completed, with the route's retry policy (4 attempts)",
  )
  const stored = await db.prisma.order.findUnique({ where: { key: order.key } })
  report.check(
    stored?.confirmationSentAt != null && stored.stockReservedAt != null,
    'order.confirmationSentAt and order.stockReservedAt recorded',
  )
  // The dashboard shows the order's jobs too, behind its password.
  const page = `${url}/afterward/requests/${encodeURIComponent(first.requestId)}`
  const { username, password } = settings.dashboard
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  const shown = await fetch(page, { headers: { authorization } })
  const html = await shown.text()
  const anonymous = await fetch(page)
  report.check(
    shown.status === 200 &&
      html.includes('2 jobs: 2 completed') &&
      html.includes('send-order-confirmation') &&
      html.includes('reserve-stock') &&
      anonymous.status === 401,
    `the dashboard shows them at /afterward/requests/${first.requestId.slice(0, 8)}… (${shown.status}; ${anonymous.status} without the password)`,
  )
  report.request(3, again, 'same order key again while its jobs are still waiting')
  report.check(again.status === 200, 'same order returned (200)')
  const duplicates = await afterward.jobs.byRequest(again.requestId)
  report.check(
    duplicates.length === 0,
    `deduplicated: 2 jobs deferred, ${duplicates.length} stored (key ${order.key} was live)`,
  )

  // 4. A route that defers a job and then fails: the job is dropped.
  const refund = await send(url, 'POST', `/orders/${order.key}/refund`)
  report.request(4, refund, 'defers send-refund-email, then the payment provider fails')
  report.check(
    refund.status >= 400,
    `request failed (${refund.status}: ${String(refund.body['message'] ?? '')})`,
  )
  await services.memoryDriver?.drain()
  const dropped = await afterward.jobs.byRequest(refund.requestId)
  report.check(
    dropped.length === 0,
    `its job was dropped: jobs.byRequest('${refund.requestId.slice(0, 8)}…') is empty`,
  )
  if (mailer.mailbox !== undefined) {
    report.check(mailsAbout(mailer.mailbox, 'refunded').length === 0, 'no refund email was sent')
  }

  // 5. Input that a task's schema rejects is refused when deferred, not hours later in a worker.
  const bad = await send(url, 'POST', '/users/abc/welcome-email')
  report.request(5, bad, 'defers send-welcome-email with userId NaN')
  const message = String(bad.body['message'] ?? '')
  report.check(
    bad.status === 400 && message.includes('send-welcome-email'),
    `refused at defer time, nothing stored: ${message}`,
  )

  // 6. The daily digest: a schedule (every second here), run once per tick as an ordinary job.
  const every = settings.digestEvery
  report.step(
    6,
    `schedule send-daily-digest:daily (${every === undefined ? 'at 07:00 Europe/Berlin' : `every ${every / 1_000} s in the demo, 07:00 Europe/Berlin otherwise`}): mails the signups of its period`,
  )
  const digest = await digests.after(user?.createdAt.getTime() ?? Date.now())
  digests.stop()
  report.job(digest)
  report.check(
    digest?.state === 'completed',
    `the first run after the signup (tick ${digest?.schedule?.tick.toISOString() ?? 'none'}) completed`,
  )
  if (mailer.mailbox !== undefined) {
    const mails = mailsAbout(mailer.mailbox, 'Daily digest: 1 new signup')
    report.check(
      mails.length === 1,
      `one digest email in the mailbox: ${mails.join(', ') || 'none'}`,
    )
  }
  const [schedule] = await afterward.schedules.list()
  report.check(
    schedule?.key === 'send-daily-digest:daily' && schedule.nextRunAt !== undefined,
    `afterward.schedules.list(): ${schedule?.key ?? 'nothing'}, next run ${schedule?.nextRunAt?.toISOString() ?? 'none'}, last run ${schedule?.lastRun?.state ?? 'none'}`,
  )
  return first.requestId
}

/**
 * Collects the digest runs this process completes (`afterward.on('completed')`); `after(ms)`
 * resolves with the first whose tick is later than `ms`, or undefined after 10 s.
 */
function watchDigests(afterward: Afterward) {
  const completed: string[] = []
  let wake: (() => void) | undefined
  const stop = afterward.on('completed', (event) => {
    if (event.task !== 'send-daily-digest') return
    completed.push(event.jobId)
    wake?.()
  })
  async function after(ms: number): Promise<JobInfo | undefined> {
    const deadline = Date.now() + 10_000
    for (let seen = 0; Date.now() < deadline;) {
      while (seen < completed.length) {
        const job = await afterward.jobs.get(completed[seen++]!)
        if (job?.schedule && job.schedule.tick.getTime() > ms) return job
      }
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, deadline - Date.now())
      })
    }
    return undefined
  }
  return { after, stop }
}
