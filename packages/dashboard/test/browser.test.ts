// The dashboard in a real browser: headless Chromium, a Fastify app that defers jobs to BullMQ
// on Redis, a worker, and the dashboard plugin under /afterward with basic auth.
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bullmq, createAfterward, type Afterward } from '@afterward/core'
import afterwardPlugin from '@afterward/fastify'
import { dashboardPlugin } from '@afterward/dashboard'
import { silentLogger } from '../../../test/support/afterward.js'
import { redisUrl, uniqueQueueName } from '../../../test/support/redis.js'
import { launchChromium, skipReason } from './chromium.js'
import { failing, flaky, ok, runUntilSettled } from './fixtures.js'

const credentials = { username: 'ops', password: 'browser-test' }
const XSS = '<script>window.__pwned = true</script><img src="x" onerror="window.__pwned = true">'

let browser: Browser
let signedIn: BrowserContext
let app: FastifyInstance
let afterward: Afterward
let url: string

/** POSTs to the app with a chosen request id; resolves with the job ids it deferred. */
async function send(path: string, requestId: string, body: unknown): Promise<string[]> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify(body),
  })
  expect(res.status, await res.clone().text()).toBe(201)
  return ((await res.json()) as { jobIds: string[] }).jobIds
}

describe.skipIf(skipReason !== undefined)(
  `dashboard in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    beforeAll(async () => {
      failing.fixed = false
      // One instance for the file (afterwardOn's would close after the first test).
      afterward = createAfterward({
        tasks: [flaky, ok],
        driver: bullmq({ connection: redisUrl, prefix: uniqueQueueName('dash') }),
        logger: silentLogger,
      })
      app = Fastify({ genReqId: (req) => String(req.headers['x-request-id']) })
      await app.register(afterwardPlugin, { afterward, closeOnShutdown: false })
      await app.register(dashboardPlugin, {
        afterward,
        prefix: '/afterward',
        auth: credentials,
        redact: ['password'],
      })
      app.post<{ Body: { email: string; note: string } }>('/signup', async (request, reply) => {
        const { email, note } = request.body
        const jobIds = [
          reply.defer(flaky, { to: email, note, password: 'hunter2' }).id,
          reply.defer(ok, { n: 1 }).id,
        ]
        return reply.code(201).send({ jobIds })
      })
      app.get('/health', async () => ({ ok: true }))
      await app.listen({ port: 0, host: '127.0.0.1' })
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
      browser = await launchChromium()
      signedIn = await browser.newContext({ httpCredentials: credentials })
    }, 60_000)

    afterAll(async () => {
      await browser?.close()
      await app?.close()
      await afterward?.close()
    })

    it('finds a request by its id and shows its jobs; a failed job shows its error', async () => {
      const requestId = uniqueQueueName('req')
      const [failedId, okId] = await send('/signup', requestId, {
        email: 'ada@example.com',
        note: 'quota exceeded',
      })
      await runUntilSettled(afterward, [failedId!, okId!])

      const page = await signedIn.newPage()
      await page.goto(`${url}/afterward/`)
      await page.getByRole('searchbox', { name: 'Request id or job id' }).first().fill(requestId)
      await page.getByRole('button', { name: 'Find' }).first().click()
      await page.waitForURL(`${url}/afterward/requests/${requestId}`)
      const rows = page.locator('table.timeline tbody tr')
      await expect.poll(() => rows.count()).toBe(2)
      // Deferred in the same millisecond, so in either order.
      const row = (task: string) => rows.filter({ hasText: task }).innerText()
      expect(await row('send-welcome-email')).toMatch(/^send-welcome-email\s+failed\s+1\/1/)
      expect(await row('update-crm')).toMatch(/^update-crm\s+completed\s+1\/1/)
      if (process.env.UPDATE_SCREENSHOTS === '1') {
        await page.setViewportSize({ width: 1280, height: 420 })
        const path = fileURLToPath(new URL('../request-view.png', import.meta.url))
        await page.screenshot({ path, fullPage: true })
      }

      await page.getByRole('link', { name: 'send-welcome-email' }).click()
      await page.waitForURL(`${url}/afterward/jobs/${failedId}`)
      await expect
        .poll(() => page.locator('.attempt-error .message').first().innerText())
        .toBe('mail server said no to ada@example.com: quota exceeded')
      expect(await page.locator('pre.stack').first().innerText()).toMatch(
        /^Error: mail server said no/,
      )
      expect(await page.locator('dl.facts .state').innerText()).toBe('failed')
      // The dashboard's `redact` hides the password; the rest of the input shows.
      const input = await page.locator('pre.input').innerText()
      expect(input).toContain('"password": "[redacted]"')
      expect(input).toContain('"to": "ada@example.com"')
      await page.close()
    })

    it('Retry puts a failed job back to waiting, and a worker then completes it', async () => {
      const requestId = uniqueQueueName('req')
      const [failedId, okId] = await send('/signup', requestId, {
        email: 'bo@example.com',
        note: 'x',
      })
      await runUntilSettled(afterward, [failedId!, okId!])
      failing.fixed = true // the mail server is back

      const page = await signedIn.newPage()
      await page.goto(`${url}/afterward/jobs/${failedId}`)
      await page.getByRole('button', { name: 'Retry' }).click()
      await page.getByText('Retried: the job waits for a worker.').waitFor()
      expect(await page.locator('dl.facts .state').innerText()).toBe('waiting')
      expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0)

      // The page reloads itself while the job is not finished, and so shows it complete.
      await runUntilSettled(afterward, [failedId!])
      await page.locator('dl.facts .state', { hasText: 'completed' }).waitFor()
      expect(page.url()).toBe(`${url}/afterward/jobs/${failedId}`)
      expect(await page.getByText('Retried: the job waits for a worker.').count()).toBe(0)

      // Remove asks first (a confirm dialog), then goes back to the request without the job.
      page.once('dialog', (dialog) => void dialog.accept())
      await page.getByRole('button', { name: 'Remove' }).click()
      await page.getByText(`Job ${failedId} removed.`).waitFor()
      expect(page.url()).toContain(`/afterward/requests/${requestId}?removed=`)
      expect(await page.locator('table.timeline tbody tr').count()).toBe(1)
      expect(await afterward.jobs.get(failedId!)).toBeUndefined()
      await page.close()
    })

    it('shows input and errors holding <script> as text, and runs none of it', async () => {
      failing.fixed = false
      const requestId = uniqueQueueName('req')
      const [failedId, okId] = await send('/signup', requestId, { email: XSS, note: XSS })
      await runUntilSettled(afterward, [failedId!, okId!])

      const page = await signedIn.newPage()
      const cspViolations: string[] = []
      page.on('console', (message) => {
        if (message.text().includes('Content Security Policy')) cspViolations.push(message.text())
      })
      for (const path of [
        '/',
        '/jobs?state=failed',
        `/requests/${requestId}`,
        `/jobs/${failedId}`,
      ]) {
        await page.goto(`${url}/afterward${path}`)
        await page.locator('main').waitFor()
        expect(
          await page.evaluate(() => (globalThis as { __pwned?: boolean }).__pwned),
        ).toBeUndefined()
        expect(await page.locator('main script, main img').count()).toBe(0)
        expect(await page.locator('main').innerText()).toContain(XSS)
      }
      // The job view, open last: both the input and the error show the markup as text.
      expect(await page.locator('pre.input').innerText()).toContain(
        `"to": "${XSS.replaceAll('"', '\\"')}"`,
      )
      expect(await page.locator('.attempt-error .message').first().innerText()).toBe(
        `mail server said no to ${XSS}: ${XSS}`,
      )
      // Escaping stopped it, not only the Content-Security-Policy behind it.
      expect(cspViolations).toEqual([])
      await page.close()
    })

    it('answers 401 to a browser without credentials, pages, assets and JSON alike', async () => {
      const paths = [
        '/',
        '/requests/x',
        '/jobs?state=failed',
        '/assets/dashboard.css',
        '/api/counts',
      ]
      // A browser with the wrong password: every navigation ends in a 401.
      const wrong = await browser.newContext({
        httpCredentials: { username: credentials.username, password: 'not-it' },
      })
      const page = await wrong.newPage()
      for (const path of paths) {
        const response = await page.goto(`${url}/afterward${path}`)
        expect(response?.status(), path).toBe(401)
        expect(await response?.text(), path).not.toContain('send-welcome-email')
      }
      await page.goto(`${url}/afterward/`)
      expect(await page.locator('h1').innerText()).toBe('401 Unauthorized')
      await wrong.close()

      // A browser with no credentials at all (a script on a page of the app): 401 too.
      // `credentials: 'omit'` keeps Chromium from waiting on a login prompt it cannot show.
      const anonymous = await browser.newContext()
      const script = await anonymous.newPage()
      await script.goto(`${url}/health`)
      const answers = await script.evaluate(async (all) => {
        const out: Array<[string, number, string]> = []
        for (const path of all) {
          const res = await fetch(`/afterward${path}`, { credentials: 'omit' })
          out.push([path, res.status, await res.text()])
        }
        return out
      }, paths)
      for (const [path, status, body] of answers) {
        expect(status, path).toBe(401)
        expect(body, path).not.toContain('send-welcome-email')
      }
      expect(JSON.parse(answers.at(-1)![2])).toEqual({
        code: 'AFTERWARD_UNAUTHORIZED',
        message: 'Authenticate first.',
      })
      await anonymous.close()
    })
  },
)
